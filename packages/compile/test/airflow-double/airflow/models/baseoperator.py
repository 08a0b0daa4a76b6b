import inspect
from datetime import timedelta

from airflow.exceptions import AirflowException, InvalidOperatorArguments
from airflow.models.dag import current_dag
from airflow.utils.helpers import validate_key

# airflow/utils/trigger_rule.py (2.3)
TRIGGER_RULES = {
    "all_success",
    "all_failed",
    "all_done",
    "one_success",
    "one_failed",
    "none_failed",
    "none_failed_min_one_success",
    "none_skipped",
    "always",
}


class XComArg:
    """airflow/models/xcom_arg.py: a reference to a task's return-value XCom (`task.output`)."""

    def __init__(self, operator):
        self.operator = operator

    def __iter__(self):
        # PlainXComArg.__iter__: "'XComArg' object is not iterable"
        raise TypeError("'XComArg' object is not iterable")


def _xcom_refs(value):
    """XComArg.iter_xcom_references: XComArgs inside lists, tuples, sets and dict values."""
    if isinstance(value, XComArg):
        yield value
    elif isinstance(value, (list, tuple, set)):
        for v in value:
            yield from _xcom_refs(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _xcom_refs(v)


def _param_names(cls):
    """The keyword arguments the operator class and its bases take (BaseOperatorMeta's __param_names)."""
    names = set()
    for klass in cls.mro():
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self":
                names.add(p.name)
    return names


class DependencyMixin:
    def __rshift__(self, other):
        self.set_downstream(other)
        return other

    def __lshift__(self, other):
        self.set_upstream(other)
        return other

    def set_downstream(self, other):
        for task in other if isinstance(other, (list, tuple)) else [other]:
            _check_same_dag(self, task)
            self.downstream_task_ids.add(task.task_id)
            task.upstream_task_ids.add(self.task_id)

    def set_upstream(self, other):
        for task in other if isinstance(other, (list, tuple)) else [other]:
            task.set_downstream(self)

    @property
    def output(self):
        return XComArg(self)


def _check_same_dag(a, b):
    # BaseOperator._set_relatives: "Tried to set relationships between tasks in more than one DAG"
    if a.dag is not b.dag:
        raise AirflowException(f"Tried to set relationships between tasks in more than one DAG: {a.task_id}, {b.task_id}")


class BaseOperator(DependencyMixin):
    """airflow/models/baseoperator.py: the arguments a compiled DAG may use. Unknown ones raise
    (BaseOperator.__init__: "Invalid arguments were passed to ..."), a bad task id or trigger rule too."""

    template_fields = ()
    template_ext = ()

    def __init__(
        self,
        *,
        task_id,
        dag=None,
        owner="airflow",
        retries=0,
        retry_delay=timedelta(seconds=300),
        retry_exponential_backoff=False,
        max_retry_delay=None,
        trigger_rule="all_success",
        do_xcom_push=True,
        pool=None,
        queue="default",
        execution_timeout=None,
        depends_on_past=False,
        **kwargs,
    ):
        if kwargs:
            raise InvalidOperatorArguments(
                f"Invalid arguments were passed to {type(self).__name__} (task_id: {task_id}). "
                f"Invalid arguments were:\n**kwargs: {kwargs}"
            )
        validate_key(task_id)
        # BaseOperator.__init__: "The trigger_rule must be one of ..."
        if trigger_rule not in TRIGGER_RULES:
            raise AirflowException(f"The trigger_rule must be one of {sorted(TRIGGER_RULES)}, not {trigger_rule!r}")
        if not isinstance(retries, int) or retries < 0:
            raise AirflowException(f"'retries' ({retries!r}) must be a non-negative int")
        for name, value in (("retry_delay", retry_delay), ("max_retry_delay", max_retry_delay)):
            if value is not None and not isinstance(value, timedelta):
                raise TypeError(f"{name} must be a timedelta")
        self.task_id = task_id
        self.retries = retries
        self.retry_delay = retry_delay
        self.retry_exponential_backoff = retry_exponential_backoff
        self.max_retry_delay = max_retry_delay
        self.trigger_rule = trigger_rule
        self.do_xcom_push = do_xcom_push
        self.upstream_task_ids = set()
        self.downstream_task_ids = set()
        self.is_mapped = False
        self.dag = dag or current_dag()
        if self.dag is None:
            raise AirflowException(f"task {task_id!r} was made outside a DAG")
        self.dag.add_task(self)

    def _link_template_xcoms(self):
        """BaseOperator sets an XComArg in a templated field as an upstream of the task (apply_upstream_relationship)."""
        for field in self.template_fields:
            for ref in _xcom_refs(getattr(self, field, None)):
                self.set_upstream(ref.operator)

    @classmethod
    def partial(cls, **kwargs):
        return OperatorPartial(cls, kwargs)


class OperatorPartial:
    """airflow/models/mappedoperator.py OperatorPartial: partial() checks its argument names (TypeError)."""

    def __init__(self, operator_class, kwargs):
        validate_mapping_kwargs(operator_class, "partial", kwargs)
        if "task_id" not in kwargs:
            raise TypeError("partial() needs task_id")
        self.operator_class = operator_class
        self.kwargs = kwargs

    def expand(self, **mapped_kwargs):
        if not mapped_kwargs:
            raise TypeError("no arguments to expand against")
        validate_mapping_kwargs(self.operator_class, "expand", mapped_kwargs)
        # prevent_duplicates(self.kwargs, mapped_kwargs, fail_reason="unmappable or already specified")
        both = set(self.kwargs) & set(mapped_kwargs)
        if both:
            raise TypeError(f"unmappable or already specified argument: {both.pop()}")
        return MappedOperator(self.operator_class, self.kwargs, mapped_kwargs)


def validate_mapping_kwargs(op, func, value):
    """mappedoperator.py validate_mapping_kwargs: unknown names raise TypeError; expand() takes only
    lists, dicts or XComArgs (get_mappable_types) and raises ValueError for anything else."""
    known = _param_names(op)
    unknown = [k for k in value if k not in known]
    if unknown:
        raise TypeError(f"{op.__name__}.{func}() got an unexpected keyword argument {unknown[0]!r}")
    if func == "expand":
        for name, v in value.items():
            if not isinstance(v, (list, dict, XComArg)):
                raise ValueError(f"{op.__name__}.expand() got an unexpected type {type(v).__name__!r} for keyword argument {name}")


class MappedOperator(DependencyMixin):
    """A task expanded at run time, one instance per item (AIP-42). Its partial arguments are checked by
    building a throwaway operator with a placeholder for each mapped argument, as Airflow does with
    `_airflow_mapped_validation_only`."""

    def __init__(self, operator_class, partial_kwargs, mapped_kwargs):
        self.operator_class = operator_class
        self.partial_kwargs = dict(partial_kwargs)
        self.mapped_kwargs = dict(mapped_kwargs)
        self.task_id = partial_kwargs["task_id"]
        self.is_mapped = True
        self.upstream_task_ids = set()
        self.downstream_task_ids = set()
        self.dag = partial_kwargs.get("dag") or current_dag()
        self.trigger_rule = partial_kwargs.get("trigger_rule", "all_success")
        self.retries = partial_kwargs.get("retries", 0)
        self.retry_delay = partial_kwargs.get("retry_delay", timedelta(seconds=300))
        self.template_fields = operator_class.template_fields
        probe = {name: {} if name in ("env", "env_vars", "op_kwargs") else [] for name in mapped_kwargs}
        self.unmap(probe, validate_only=True)
        self.dag.add_task(self)
        for ref in _xcom_refs(self.mapped_kwargs):
            self.set_upstream(ref.operator)

    def unmap(self, mapped_values, validate_only=False):
        """The operator of one mapped instance (MappedOperator.unmap); not added to the DAG."""
        kwargs = {**self.partial_kwargs, **mapped_values}
        op = self.operator_class.__new__(self.operator_class)
        op._validation_only = validate_only
        _Detached.init(op, kwargs)
        return op


class _Detached:
    """Builds an operator with the double's checks but outside the DAG (a mapped instance)."""

    @staticmethod
    def init(op, kwargs):
        class _Scratch:
            def __init__(self):
                self.task_dict = {}

            def add_task(self, task):
                pass

        op.__class__.__init__(op, dag=_Scratch(), **kwargs)

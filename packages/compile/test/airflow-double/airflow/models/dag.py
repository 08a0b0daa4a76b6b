from datetime import datetime

from airflow.exceptions import AirflowDagCycleException, AirflowException, DuplicateTaskIdFound
from airflow.utils.helpers import validate_key

_current = []


class DAG:
    """airflow/models/dag.py, the arguments of Airflow 2.3 that a compiled DAG may use (others: TypeError, as
    Python raises for an unknown keyword). `schedule_interval` is 2.3's name (2.4 added `schedule`)."""

    def __init__(
        self,
        dag_id,
        description=None,
        schedule_interval=None,
        start_date=None,
        end_date=None,
        default_args=None,
        max_active_tasks=16,
        max_active_runs=16,
        catchup=True,
        tags=None,
        params=None,
    ):
        validate_key(dag_id)
        if start_date is not None and not isinstance(start_date, datetime):
            raise TypeError("start_date must be a datetime")
        if start_date is not None and start_date.tzinfo is None:
            raise AirflowException("the double wants an aware start_date (naive ones depend on Airflow's default_timezone)")
        self.dag_id = dag_id
        self.schedule_interval = schedule_interval
        self.start_date = start_date
        self.catchup = catchup
        self.tags = tags or []
        self.default_args = default_args or {}
        self.task_dict = {}

    def __enter__(self):
        _current.append(self)
        return self

    def __exit__(self, *exc):
        _current.pop()

    def add_task(self, task):
        # DAG.add_task: "Task id '...' has already been added to the DAG"
        if task.task_id in self.task_dict and self.task_dict[task.task_id] is not task:
            raise DuplicateTaskIdFound(f"Task id '{task.task_id}' has already been added to the DAG")
        self.task_dict[task.task_id] = task

    @property
    def tasks(self):
        return list(self.task_dict.values())

    def topological_sort(self):
        """airflow/utils/dag_cycle_tester.py check_cycle: a cycle raises AirflowDagCycleException."""
        order, state = [], {}

        def visit(task_id, path):
            if state.get(task_id) == "done":
                return
            if state.get(task_id) == "visiting":
                raise AirflowDagCycleException(f"Cycle detected in DAG: {self.dag_id}. Faulty task: {task_id}")
            state[task_id] = "visiting"
            for up in sorted(self.task_dict[task_id].upstream_task_ids):
                if up not in self.task_dict:
                    raise AirflowException(f"task {task_id!r} depends on {up!r}, which is not in DAG {self.dag_id!r}")
                visit(up, path + [task_id])
            state[task_id] = "done"
            order.append(task_id)

        for task_id in self.task_dict:
            visit(task_id, [])
        return [self.task_dict[t] for t in order]


def current_dag():
    return _current[-1] if _current else None

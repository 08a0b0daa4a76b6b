from airflow.models.baseoperator import BaseOperator


class PythonOperator(BaseOperator):
    """airflow/operators/python.py: templated op_args, op_kwargs and templates_dict; an XComArg in them is the
    upstream task's return value at run time."""

    template_fields = ("templates_dict", "op_args", "op_kwargs")

    def __init__(self, *, python_callable, op_args=None, op_kwargs=None, templates_dict=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(python_callable):
            raise TypeError("`python_callable` param must be callable")
        self.python_callable = python_callable
        self.op_args = op_args or []
        self.op_kwargs = op_kwargs or {}
        self.templates_dict = templates_dict
        self._link_template_xcoms()

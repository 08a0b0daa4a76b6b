"""Airflow's exceptions (airflow/exceptions.py) that the double raises."""


class AirflowException(Exception):
    pass


class AirflowSkipException(AirflowException):
    pass


class DuplicateTaskIdFound(AirflowException):
    pass


class AirflowDagCycleException(AirflowException):
    pass


class InvalidOperatorArguments(AirflowException, TypeError):
    """Unknown operator arguments: Airflow 2.3-2.x raises AirflowException (BaseOperator.__init__, "Invalid arguments
    were passed to ...", unless [operators] allow_illegal_arguments), Airflow 3's task SDK raises TypeError; this is
    both, so a test catching either holds."""

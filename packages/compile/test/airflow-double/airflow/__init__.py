"""A test double of the Airflow 2 API, for the DAG files `stepwise airflow compile` writes (Airflow is not
installable where the tests run). It accepts only what Airflow >= 2.3 accepts and raises where Airflow raises;
each rule names the Airflow source it follows. It runs nothing itself: runner.py executes a loaded DAG.
"""

from airflow.models.dag import DAG

__all__ = ["DAG"]

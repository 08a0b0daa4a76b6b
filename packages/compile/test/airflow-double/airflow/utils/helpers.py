import re

from airflow.exceptions import AirflowException

# airflow/utils/helpers.py: KEY_REGEX = re.compile(r"^[\w.-]+$") and validate_key(k, max_length=250); Airflow 1.x
# spelled it r'^[A-Za-z0-9_\-\.]+$'. Python's \w also takes non-ASCII letters: the double holds task and DAG ids to
# the ASCII form (SPEC §12 asks for it), which every Airflow version accepts.
KEY_REGEX = re.compile(r"^[A-Za-z0-9_.-]+$")


def validate_key(k, max_length=250):
    if not isinstance(k, str):
        raise TypeError(f"The key has to be a string and is {type(k)}:{k}")
    if len(k) > max_length:
        raise AirflowException(f"The key has to be less than {max_length} characters")
    if not KEY_REGEX.match(k):
        raise AirflowException(
            f"The key {k!r} has to be made of alphanumeric characters, dashes, dots and underscores exclusively"
        )

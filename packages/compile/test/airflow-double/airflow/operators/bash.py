from airflow.models.baseoperator import BaseOperator


class BashOperator(BaseOperator):
    """airflow/operators/bash.py, the arguments of Airflow 2.3 and later alike: `skip_exit_code` (2.3) became
    `skip_on_exit_code` (2.6), `cwd` came in 2.5, so a DAG for 2.3+ passes neither; the default skip code is 99 in
    every version. Templated: bash_command and env; a bash_command ending in .sh or .bash is read as a file."""

    template_fields = ("bash_command", "env")
    template_ext = (".sh", ".bash")

    def __init__(self, *, bash_command, env=None, append_env=False, output_encoding="utf-8", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(bash_command, str):
            raise TypeError("bash_command must be a string")
        if bash_command.endswith(self.template_ext):
            raise ValueError("bash_command ends with .sh/.bash: Airflow would load it as a template file")
        if env is not None and not isinstance(env, dict):
            raise TypeError("env must be a dict")
        self.bash_command = bash_command
        self.env = env
        self.append_env = append_env
        self.skip_exit_code = 99
        self._link_template_xcoms()

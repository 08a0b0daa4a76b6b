from airflow.models.baseoperator import BaseOperator


class KubernetesPodOperator(BaseOperator):
    """apache-airflow-providers-cncf-kubernetes, operators/pod.py (operators/kubernetes_pod.py before 5.0): the
    arguments a compiled DAG uses. Templated: image, cmds, arguments, env_vars. With do_xcom_push, the XCom is the
    JSON the container wrote to /airflow/xcom/return.json (read by a sidecar)."""

    template_fields = ("image", "cmds", "arguments", "env_vars")

    def __init__(self, *, namespace=None, image=None, name=None, cmds=None, arguments=None, env_vars=None, get_logs=True, **kwargs):
        super().__init__(**kwargs)
        if image is None:
            raise TypeError("KubernetesPodOperator needs image")
        for field, value in (("cmds", cmds), ("arguments", arguments)):
            if value is not None and not isinstance(value, (list, type(None))) and not getattr(self, "_validation_only", False):
                raise TypeError(f"{field} must be a list")
        if env_vars is not None and not isinstance(env_vars, dict):
            raise TypeError("env_vars must be a dict")
        self.namespace = namespace
        self.image = image
        self.name = name
        self.cmds = cmds or []
        self.arguments = arguments or []
        self.env_vars = env_vars or {}
        self._link_template_xcoms()

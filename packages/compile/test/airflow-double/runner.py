"""Loads a DAG file with the Airflow test double and describes it, or runs it as Airflow's LocalExecutor would.

    python3 runner.py describe DAG_FILE
    python3 runner.py run DAG_FILE --run-id RUN_ID --state STATE.json [--resume STATE.json --clear TASK_ID]

`run` executes the task instances of one DAG run: a task starts once its upstream have finished and its trigger
rule holds (airflow/ti_deps/deps/trigger_rule_dep.py), the ready ones at once, each a real process; templated
fields are rendered ({{ run_id }}, {% raw %}); a BashOperator runs `bash -c` with stderr into stdout and pushes
its last line as XCom (airflow/hooks/subprocess.py), exits 99 to be skipped (skip_exit_code), and is retried up to
`retries` times; a mapped task expands over its upstream's XCom when it is ready (mappedoperator.py
expand_mapped_task: no XCom -> upstream_failed, an empty list -> skipped, not a list or dict -> failed).
`--clear` starts again from a stored state with that task and everything downstream of it cleared, as
`airflow tasks clear --downstream` does.
"""

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from airflow.exceptions import AirflowException  # noqa: E402
from airflow.models.baseoperator import MappedOperator, XComArg  # noqa: E402
from airflow.models.dag import DAG  # noqa: E402
from airflow.operators.bash import BashOperator  # noqa: E402
from airflow.operators.python import PythonOperator  # noqa: E402
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator  # noqa: E402

FINISHED = {"success", "failed", "skipped", "upstream_failed"}


def load(path):
    with open(path, "rb") as f:
        content = f.read()
    # airflow/utils/file.py might_contain_dag_via_default_heuristic (safe mode, the default): a file whose
    # lowercased content lacks b"dag" or b"airflow" is not even imported.
    if not all(s in content.lower() for s in (b"dag", b"airflow")):
        raise AirflowException(f"{path}: Airflow's DAG discovery skips a file without the words 'airflow' and 'dag'")
    ast.parse(content, filename=path)
    spec = importlib.util.spec_from_file_location("compiled_dag", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dags = [v for v in vars(module).values() if isinstance(v, DAG)]
    if len(dags) != 1:
        raise AirflowException(f"{path}: expected one DAG at module level, found {len(dags)}")
    dag = dags[0]
    dag.topological_sort()
    return module, dag


def describe(path):
    module, dag = load(path)
    tasks = []
    for t in dag.topological_sort():
        kind = t.operator_class.__name__ if t.is_mapped else type(t).__name__
        entry = {"task_id": t.task_id, "operator": kind, "mapped": t.is_mapped, "trigger_rule": t.trigger_rule,
                 "retries": t.retries, "upstream": sorted(t.upstream_task_ids)}
        if t.is_mapped:
            entry["expand"] = {k: v.operator.task_id for k, v in t.mapped_kwargs.items() if isinstance(v, XComArg)}
        tasks.append(entry)
    return {"dag_id": dag.dag_id, "schedule_interval": dag.schedule_interval, "catchup": dag.catchup,
            "tags": dag.tags, "tasks": tasks, "step_keys": getattr(module, "STEP_KEYS", None)}


TEMPLATE = re.compile(r"\{\{\s*(\w+)\s*\}\}")
RAW = re.compile(r"\{% raw %\}(.*?)\{% endraw %\}", re.S)


def render(value, context, xcoms):
    """Jinja as Airflow renders templated fields, for what compiled DAGs use: {{ name }} of the context and
    {% raw %} blocks; any other Jinja syntax is an error here (the double does not guess)."""
    if isinstance(value, XComArg):
        if value.operator.task_id not in xcoms:
            raise AirflowException(f"XComArg result from {value.operator.task_id} was not found")
        return xcoms[value.operator.task_id]
    if isinstance(value, str):
        raws = []

        def keep(m):
            raws.append(m.group(1))
            return f"\x00{len(raws) - 1}\x00"

        text = RAW.sub(keep, value)
        text = TEMPLATE.sub(lambda m: str(context[m.group(1)]), text)
        if "{{" in text or "{%" in text or "{#" in text:
            raise AirflowException(f"template syntax the double does not render: {value[:80]!r}")
        return re.sub("\x00(\\d+)\x00", lambda m: raws[int(m.group(1))], text)
    if isinstance(value, list):
        return [render(v, context, xcoms) for v in value]
    if isinstance(value, dict):
        return {k: render(v, context, xcoms) for k, v in value.items()}
    return value


def trigger_decision(rule, states):
    """trigger_rule_dep.py for the rules compiled DAGs use: 'run', 'wait', or the state to set."""
    if any(s not in FINISHED for s in states):
        return "wait"
    failed = any(s in ("failed", "upstream_failed") for s in states)
    skipped = [s for s in states if s == "skipped"]
    if rule == "all_success":
        return "upstream_failed" if failed else "skipped" if skipped else "run"
    if rule == "none_failed":
        return "upstream_failed" if failed else "run"
    if rule == "none_failed_min_one_success":
        if failed:
            return "upstream_failed"
        return "skipped" if states and len(skipped) == len(states) else "run"
    if rule == "all_done":
        return "run"
    raise AirflowException(f"the runner does not implement trigger rule {rule}")


class Run:
    def __init__(self, dag, run_id, state):
        self.dag = dag
        self.run_id = run_id
        self.states = state.get("states", {})  # task id -> state (mapped: the task's overall state)
        self.instances = state.get("instances", {})  # "task[i]" -> state of a mapped instance
        self.xcoms = state.get("xcoms", {})
        self.tries = state.get("tries", {})
        self.logs = state.get("logs", {})
        self.context = {"run_id": run_id, "dag_id": dag.dag_id}

    def upstream_states(self, task):
        out = []
        for up in task.upstream_task_ids:
            up_task = self.dag.task_dict[up]
            if up_task.is_mapped and self.states.get(up) == "expanded":
                out.extend(v for k, v in self.instances.items() if k.startswith(f"{up}["))
            else:
                out.append(self.states.get(up, "none"))
        return out

    def execute(self, op, key):
        """One task instance with its retries; returns (state, xcom)."""
        tries = 0
        while True:
            tries += 1
            self.tries[key] = tries
            code, output, xcom = self.attempt(op, key)
            self.logs.setdefault(key, []).append(output)
            if code == 0:
                return "success", xcom
            if code == 99 and not isinstance(op, (PythonOperator, KubernetesPodOperator)):
                return "skipped", None
            if tries > op.retries:
                return "failed", None
            time.sleep(min(op.retry_delay.total_seconds(), 0.05))

    def attempt(self, op, key):
        if isinstance(op, PythonOperator):
            kwargs = render(op.op_kwargs, self.context, self.xcoms)
            try:
                return 0, "", op.python_callable(*render(op.op_args, self.context, self.xcoms), **kwargs)
            except Exception as error:  # the task fails, as Airflow records it
                return 1, repr(error), None
        if isinstance(op, BashOperator):
            env = render(op.env, self.context, self.xcoms) if op.env is not None else None
            env = {**os.environ, **env} if env is not None and op.append_env else (env or dict(os.environ))
            env.update({"AIRFLOW_CTX_DAG_ID": self.dag.dag_id, "AIRFLOW_CTX_DAG_RUN_ID": self.run_id,
                        "AIRFLOW_CTX_TASK_ID": op.task_id})
            command = render(op.bash_command, self.context, self.xcoms)
            proc = subprocess.run(["bash", "-c", command], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=120, cwd=tempfile.gettempdir())
            lines = proc.stdout.rstrip("\n").split("\n")
            return proc.returncode, proc.stdout, lines[-1] if proc.stdout and op.do_xcom_push else None
        if isinstance(op, KubernetesPodOperator):
            # The pod, emulated: the image's command with the task's env, no shell; /airflow/xcom is a temp dir.
            with tempfile.TemporaryDirectory() as xcom_dir:
                args = [a.replace("/airflow/xcom", xcom_dir) for a in render(op.arguments, self.context, self.xcoms)]
                cmds = render(op.cmds, self.context, self.xcoms)
                pod_cmd = os.environ.get("STEPWISE_TEST_POD_COMMAND")
                argv = (pod_cmd.split() if pod_cmd else cmds) + args
                env = {**os.environ, **render(op.env_vars, self.context, self.xcoms)}
                proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
                xcom = None
                result = os.path.join(xcom_dir, "return.json")
                if op.do_xcom_push and proc.returncode == 0:
                    with open(result, encoding="utf-8") as f:
                        xcom = json.load(f)
                return proc.returncode, proc.stdout, xcom
        raise AirflowException(f"the runner cannot run {type(op).__name__}")

    def expand(self, task):
        ref = next(iter(task.mapped_kwargs.values()))
        name = next(iter(task.mapped_kwargs))
        source = ref.operator.task_id
        if source not in self.xcoms or self.xcoms[source] is None:
            return "upstream_failed", []
        value = self.xcoms[source]
        if isinstance(value, str) or not isinstance(value, (list, dict)):
            # TaskInstance._record_task_map_for_downstreams: UnmappableXComTypePushed
            return "failed", []
        if len(value) == 0:
            return "skipped", []
        return "expanded", [task.unmap({name: item}) for item in value]

    def step(self, pool):
        ready = []
        for task in self.dag.topological_sort():
            if self.states.get(task.task_id, "none") != "none":
                continue
            decision = trigger_decision(task.trigger_rule, self.upstream_states(task))
            if decision == "wait":
                continue
            if decision != "run":
                self.states[task.task_id] = decision
                return True
            ready.append(task)
        if not ready:
            return False
        jobs = []
        for task in ready:
            if task.is_mapped:
                state, ops = self.expand(task)
                self.states[task.task_id] = state
                for i, op in enumerate(ops):
                    op.retries, op.retry_delay = task.retries, task.retry_delay
                    jobs.append((task, f"{task.task_id}[{i}]", op))
            else:
                self.states[task.task_id] = "running"
                jobs.append((task, task.task_id, task))
        results = list(pool.map(lambda j: (j, self.execute(j[2], j[1])), jobs))
        for (task, key, _op), (state, xcom) in results:
            if task.is_mapped:
                self.instances[key] = state
            else:
                self.states[key] = state
                if xcom is not None:
                    self.xcoms[key] = xcom
        return True

    def run(self):
        with ThreadPoolExecutor(max_workers=8) as pool:
            while self.step(pool):
                pass

    def clear(self, task_id):
        todo = [task_id]
        while todo:
            current = todo.pop()
            self.states.pop(current, None)
            self.xcoms.pop(current, None)
            for key in [k for k in self.instances if k.startswith(f"{current}[")]:
                del self.instances[key]
            todo.extend(self.dag.task_dict[current].downstream_task_ids)

    def dump(self):
        return {"states": self.states, "instances": self.instances, "xcoms": self.xcoms, "tries": self.tries,
                "logs": self.logs}


def main(argv):
    if argv[0] == "describe":
        print(json.dumps(describe(argv[1]), indent=2))
        return 0
    if argv[0] == "run":
        path = argv[1]
        opts = dict(zip(argv[2::2], argv[3::2]))
        _, dag = load(path)
        state = {}
        if "--resume" in opts:
            with open(opts["--resume"], encoding="utf-8") as f:
                state = json.load(f)
        run = Run(dag, opts["--run-id"], state)
        if "--clear" in opts:
            run.clear(opts["--clear"])
        run.run()
        with open(opts["--state"], "w", encoding="utf-8") as f:
            json.dump(run.dump(), f, indent=2)
        return 0
    raise SystemExit(f"unknown command {argv[0]}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

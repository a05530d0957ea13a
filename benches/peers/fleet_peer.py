"""The peer side of benches/fleet.rs: the same job as `tsfleet apply` (or
`tsfleet plan`) done the way a netmiko or Nornir user would write it.

For every device: read each object-group with `show object-group name G`,
work out the entries to add and remove, push them with `send_config_set`
(adds before removes, as tsfleet orders them) and `save_config`. netmiko runs
on a thread pool of the given concurrency; Nornir runs the same steps as
nornir_netmiko tasks on its threaded runner with as many workers. Both are
used as their documentation shows, with longer connect timeouts so that 64
sessions opening at once on a small machine are not counted as failures.

One JSON job on stdin:
  {"tool": "netmiko" | "nornir", "mode": "apply" | "plan", "concurrency": 64,
   "username": ..., "password": ..., "secret": ...,
   "devices": [{"name": ..., "host": ..., "port": ...}],
   "groups": {"threatstop-block": ["host 11.0.0.0", ...], ...}}
One JSON answer on stdout:
  {"seconds": ..., "devices": N, "lines": pushed lines, "failed": {name: error}}
"""

import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

TIMEOUTS = {"conn_timeout": 60, "auth_timeout": 60, "banner_timeout": 60}


def current_entries(show_output):
    """Entries of one group from `show object-group name G` output."""
    entries = set()
    for line in show_output.splitlines():
        if line.startswith(" ") and line.strip():
            entries.add(line.strip())
    return entries


def changes(groups, read):
    """The configuration lines that take each group to its desired entries."""
    lines = []
    for name, desired in groups.items():
        have = current_entries(read(f"show object-group name {name}"))
        want = set(desired)
        add = [e for e in desired if e not in have]
        remove = sorted(have - want)
        if add or remove:
            lines.append(f"object-group network {name}")
            lines.extend(add)
            lines.extend(f"no {e}" for e in remove)
    return lines


def run_netmiko(job):
    from netmiko import ConnectHandler

    def one(device):
        conn = ConnectHandler(
            device_type="cisco_ios",
            host=device["host"],
            port=device["port"],
            username=job["username"],
            password=job["password"],
            secret=job["secret"],
            use_keys=False,
            allow_agent=False,
            ssh_strict=False,
            system_host_keys=False,
            **TIMEOUTS,
        )
        try:
            conn.enable()
            lines = changes(job["groups"], conn.send_command)
            if job["mode"] == "apply" and lines:
                conn.send_config_set(lines, read_timeout=3600)
                conn.save_config()
            return len(lines)
        finally:
            conn.disconnect()

    pushed, failed = 0, {}
    with ThreadPoolExecutor(max_workers=job["concurrency"]) as pool:
        futures = {d["name"]: pool.submit(one, d) for d in job["devices"]}
        for name, future in futures.items():
            try:
                pushed += future.result()
            except Exception as e:  # a failed device is reported, not fatal
                failed[name] = f"{type(e).__name__}: {e}"
    return pushed, failed


def run_nornir(job):
    import yaml
    from nornir import InitNornir
    from nornir.core.task import Result, Task
    from nornir_netmiko.tasks import (
        netmiko_save_config,
        netmiko_send_command,
        netmiko_send_config,
    )

    hosts = {
        d["name"]: {
            "hostname": d["host"],
            "port": d["port"],
            "username": job["username"],
            "password": job["password"],
            "platform": "cisco_ios",
            "connection_options": {
                "netmiko": {
                    "extras": {
                        "secret": job["secret"],
                        "use_keys": False,
                        "allow_agent": False,
                        "ssh_strict": False,
                        "system_host_keys": False,
                        **TIMEOUTS,
                    }
                }
            },
        }
        for d in job["devices"]
    }
    with tempfile.TemporaryDirectory() as tmp:
        host_file = os.path.join(tmp, "hosts.yaml")
        with open(host_file, "w") as f:
            yaml.safe_dump(hosts, f)
        nr = InitNornir(
            runner={"plugin": "threaded", "options": {"num_workers": job["concurrency"]}},
            inventory={"plugin": "SimpleInventory", "options": {"host_file": host_file}},
            logging={"enabled": False},
        )

        def sync(task: Task) -> Result:
            def read(command):
                return task.run(
                    task=netmiko_send_command, command_string=command, enable=True
                ).result

            lines = changes(job["groups"], read)
            if job["mode"] == "apply" and lines:
                task.run(task=netmiko_send_config, config_commands=lines, read_timeout=3600)
                task.run(task=netmiko_save_config)
            return Result(host=task.host, result=len(lines))

        results = nr.run(task=sync)
        nr.close_connections()
    pushed, failed = 0, {}
    for name, multi in results.items():
        if multi.failed:
            failed[name] = str(multi[0].exception or multi[-1].exception)
        else:
            pushed += multi[0].result
    return pushed, failed


def main():
    job = json.load(sys.stdin)
    started = time.monotonic()
    run = {"netmiko": run_netmiko, "nornir": run_nornir}[job["tool"]]
    pushed, failed = run(job)
    json.dump(
        {
            "seconds": time.monotonic() - started,
            "devices": len(job["devices"]),
            "lines": pushed,
            "failed": failed,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()

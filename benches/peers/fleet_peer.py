"""The peer side of benches/fleet.rs: the same job as `tsfleet apply` (or
`tsfleet plan`) done the way a netmiko, Nornir or scrapli user would write it.

For every device: read each object-group with `show object-group name G`,
work out the entries to add and remove, push them (adds before removes, as
tsfleet orders them) and save. netmiko pushes with `send_config_set` and
`save_config` on a thread pool of the given concurrency; Nornir runs the same
steps as nornir_netmiko tasks on its threaded runner with as many workers;
scrapli (2026.10, the `Cli` driver over its native libscrapli core, on its
default transport, the system's OpenSSH client) sends the lines with
`send_inputs` in its `configuration` mode, then `write memory`, on the same
thread pool as netmiko. All are used as their documentation shows, with longer
connect timeouts so that 64 sessions opening at once on a small machine are
not counted as failures.

One JSON job on stdin:
  {"tool": "netmiko" | "nornir" | "scrapli", "mode": "apply" | "plan", "concurrency": 64,
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

    return on_pool(job, one)


def on_pool(job, one):
    """`one(device)` for every device on a thread pool of the job's
    concurrency: the lines pushed in all, and the devices that failed."""
    pushed, failed = 0, {}
    with ThreadPoolExecutor(max_workers=job["concurrency"]) as pool:
        futures = {d["name"]: pool.submit(one, d) for d in job["devices"]}
        for name, future in futures.items():
            try:
                pushed += future.result()
            except Exception as e:  # a failed device is reported, not fatal
                failed[name] = f"{type(e).__name__}: {e}"
    return pushed, failed


# What a scrapli user adds for IOS: older images offer only the old key
# exchange, host key and cipher (as the simulator's `legacy_only` devices do,
# src/sim/server.rs), which OpenSSH's client no longer offers unless asked.
IOS_SSH_ALGORITHMS = [
    "-o", "KexAlgorithms=+diffie-hellman-group14-sha1",
    "-o", "HostKeyAlgorithms=+ssh-rsa",
    "-o", "Ciphers=+aes128-cbc",
]


def run_scrapli(job):
    from scrapli import AuthOptions, Cli, LookupKeyValue, SessionOptions
    from scrapli import TransportBinOptions

    def checked(result, what):
        # scrapli reports IOS's `% Invalid input` as a failed result, not an exception.
        if result.failed:
            raise RuntimeError(f"{what}: {result.results_failed_indicator}")
        return result.result

    def one(device):
        conn = Cli(
            host=device["host"],
            port=device["port"],
            definition_file_or_name="cisco_iosxe",
            auth_options=AuthOptions(
                username=job["username"],
                password=job["password"],
                # The definition's `enable` step answers its prompt with this.
                lookups=[LookupKeyValue(key="enable", value=job["secret"])],
            ),
            session_options=SessionOptions(operation_timeout_s=TIMEOUTS["conn_timeout"]),
            transport_options=TransportBinOptions(
                # Like the netmiko peer's ssh_strict=False: the simulator's
                # host keys are new each run; no user ssh_config either.
                enable_strict_key=False,
                known_hosts_path="/dev/null",
                ssh_config_path="/dev/null",
                extra_open_args=IOS_SSH_ALGORITHMS,
            ),
        )
        # Opening logs in, enters privileged exec (enable) and sets the terminal up.
        with conn:
            lines = changes(
                job["groups"], lambda command: checked(conn.send_input(command), command)
            )
            if job["mode"] == "apply" and lines:
                checked(
                    conn.send_inputs(
                        lines,
                        requested_mode="configuration",
                        operation_timeout_ns=3600 * 10**9,
                    ),
                    "configuration",
                )
                saved = conn.send_input("write memory", requested_mode="privileged_exec")
                checked(saved, "write memory")
            return len(lines)

    return on_pool(job, one)


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
    run = {"netmiko": run_netmiko, "nornir": run_nornir, "scrapli": run_scrapli}[job["tool"]]
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

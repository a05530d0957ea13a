"""The peer side of benches/device_push.rs: push the same object-group lines
with netmiko's send_config_set, used the way its documentation recommends,
and report the time taken. One JSON request on stdin, one JSON answer out."""

import json
import sys
import time

from netmiko import ConnectHandler

req = json.load(sys.stdin)
started = time.monotonic()
conn = ConnectHandler(
    device_type="cisco_ios",
    host=req["host"],
    port=req["port"],
    username=req["username"],
    password=req["password"],
    secret=req["secret"],
    use_keys=False,
    allow_agent=False,
    ssh_strict=False,
    system_host_keys=False,
)
conn.enable()
connected = time.monotonic()
conn.send_config_set(req["lines"], read_timeout=3600)
pushed = time.monotonic()
conn.save_config()
conn.disconnect()
done = time.monotonic()
json.dump(
    {"connect_s": connected - started, "push_s": pushed - connected, "total_s": done - started},
    sys.stdout,
)

"""Independent clients (netmiko, paramiko) that the Rust tests drive against
the simulator. One JSON request on stdin, one JSON answer on stdout.

Actions:
  netmiko  - cisco_ios driver: connect, enable, show commands, send_config_set, save_config
  raw      - paramiko shell: send text, read for a while, return everything seen
  auth     - does paramiko authenticate with this password?
  logins   - many devices at once: does each accept a login and show a prompt?
"""

import json
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import paramiko


def netmiko_action(req):
    from netmiko import ConnectHandler

    conn = ConnectHandler(
        device_type="cisco_ios",
        host=req["host"],
        port=req["port"],
        username=req.get("username", "admin"),
        password=req.get("password", "admin"),
        secret=req.get("secret", "enable"),
        use_keys=False,
        allow_agent=False,
        ssh_strict=False,
        system_host_keys=False,
        fast_cli=False,
        conn_timeout=10,
        timeout=20,
    )
    out = {"prompt_before_enable": conn.find_prompt()}
    try:
        conn.enable()
        out["prompt"] = conn.find_prompt()
        out["shows"] = [conn.send_command(c) for c in req.get("shows", [])]
        if req.get("config"):
            out["config_output"] = conn.send_config_set(req["config"])
        if req.get("save"):
            out["save_output"] = conn.save_config()
        out["shows_after"] = [conn.send_command(c) for c in req.get("shows_after", [])]
    finally:
        conn.disconnect()
    return out


def shell(req):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        req["host"],
        port=req["port"],
        username=req.get("username", "admin"),
        password=req.get("password", "admin"),
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    return client, client.invoke_shell(width=511, height=24)


def read_for(chan, seconds, until=None):
    seen = b""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if chan.recv_ready():
            seen += chan.recv(65536)
            if until and until.encode() in seen:
                break
        elif chan.closed or chan.exit_status_ready():
            break
        else:
            time.sleep(0.01)
    return seen


def raw_action(req):
    client, chan = shell(req)
    try:
        seen = read_for(chan, req.get("greeting_seconds", 2), until=req.get("greeting_until"))
        closed = False
        for step in req["steps"]:
            try:
                chan.sendall(step["send"].encode())
            except OSError:
                closed = True
                break
            seen += read_for(chan, step.get("seconds", 2), until=step.get("until"))
        closed = closed or chan.closed or chan.exit_status_ready() or not client.get_transport().is_active()
        return {"output": seen.decode("utf-8", "replace"), "closed": closed}
    finally:
        client.close()


def auth_action(req):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(
            req["host"],
            port=req["port"],
            username=req.get("username", "admin"),
            password=req.get("password", "admin"),
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
        return {"ok": True}
    except paramiko.AuthenticationException as e:
        return {"ok": False, "error": "auth", "detail": str(e)}
    except (paramiko.SSHException, socket.error, EOFError) as e:
        return {"ok": False, "error": "connect", "detail": repr(e)}
    finally:
        client.close()


def logins_action(req):
    def one(port):
        try:
            client, chan = shell({"host": req["host"], "port": port})
            try:
                return read_for(chan, 10, until=">").decode().strip()
            finally:
                client.close()
        except Exception as e:  # report, do not hide
            return "ERROR " + repr(e)

    with ThreadPoolExecutor(max_workers=req.get("workers", 16)) as pool:
        return {"prompts": list(pool.map(one, req["ports"]))}


ACTIONS = {"netmiko": netmiko_action, "raw": raw_action, "auth": auth_action, "logins": logins_action}

if __name__ == "__main__":
    request = json.load(sys.stdin)
    try:
        result = ACTIONS[request["action"]](request)
    except Exception as e:  # the test asserts on the error class and text
        result = {"exception": type(e).__name__, "detail": str(e)}
    json.dump(result, sys.stdout)

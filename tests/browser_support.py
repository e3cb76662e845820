"""Helpers for the real-browser notebook test: a throwaway JupyterLab server and a headless Chromium.

The server runs on 127.0.0.1 with a random free port (``--ServerApp.port=0``; the chosen port is read
back from the server's runtime file), a random token, its own temporary config, runtime, settings and
workspace folders, and ``window.jupyterapp`` exposed so the test can drive JupyterLab through its own
command registry (``notebook:run-all-cells``) and read cell models instead of guessing from pixels.

Chromium is Debian's ``/usr/bin/chromium`` launched by Playwright with ``executable_path``: Playwright
never downloads a browser here.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]

# JupyterLab user settings for a quiet, deterministic test session: no news or update toasts, and
# every cell kept in the DOM (JupyterLab 4 windowing would otherwise detach cells scrolled away).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
        {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings":
        {"autosave": False},
}


def find_chromium() -> str | None:
    """Path of a system Chromium, or ``None`` when none is installed."""
    env = os.environ.get("ECHO_EDU_CHROMIUM")
    for candidate in ([env] if env else []) + list(CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


@dataclass
class LabServer:
    """A running JupyterLab server; use :func:`start_lab` and always call :meth:`stop`."""

    process: subprocess.Popen
    root_dir: Path
    base_url: str
    token: str
    log_path: Path
    _log_file: object = field(repr=False, default=None)

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path.lstrip('/')}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 10.0):
        """Call the server's REST API; return the decoded JSON (or ``None`` for an empty body)."""
        request = urllib.request.Request(self.url(f"api/{path}"), method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Shut the server and its kernels down; kill the whole process group if it lingers."""
        if self.process.poll() is None:
            try:
                self.api("shutdown", method="POST", timeout=5)
            except (OSError, urllib.error.URLError):
                pass
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        # kernels are children in the server's session: make sure none is left behind
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self._log_file is not None:
            self._log_file.close()


def start_lab(root_dir: Path, state_dir: Path, env: dict[str, str] | None = None,
              timeout: float = 90.0) -> LabServer:
    """Start JupyterLab serving ``root_dir``; keep all of its state under ``state_dir``."""
    state_dir.mkdir(parents=True, exist_ok=True)
    runtime = state_dir / "runtime"
    settings = state_dir / "user-settings"
    for rel, value in LAB_SETTINGS.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    for name in ("config", "data", "workspaces", "ipython"):
        (state_dir / name).mkdir(exist_ok=True)
    token = secrets.token_hex(24)
    full_env = dict(os.environ)
    full_env.update({
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_CONFIG_DIR": str(state_dir / "config"),
        "JUPYTER_DATA_DIR": str(state_dir / "data"),
        "IPYTHONDIR": str(state_dir / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
        "ECHO_EDU_QUICK": os.environ.get("ECHO_EDU_QUICK", "1"),
        "MPLBACKEND": "Agg",
        "PYTHONUNBUFFERED": "1",
    })
    full_env.update(env or {})
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.terminals_enabled=False",
        "--ServerApp.allow_remote_access=False",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={state_dir / 'workspaces'}",
        "--LabApp.news_url=None",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # the kernel must not cull or be culled under us, and must use this interpreter
        "--MappingKernelManager.default_kernel_name=python3",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers run as root
    log_path = state_dir / "jupyterlab.log"
    log_file = open(log_path, "w")
    process = subprocess.Popen(cmd, cwd=root_dir, env=full_env, stdout=log_file, stderr=subprocess.STDOUT,
                               start_new_session=True)
    server = LabServer(process, root_dir, "", token, log_path, log_file)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}")
            info_files = list(runtime.glob(f"jpserver-{process.pid}.json")) if runtime.exists() else []
            if info_files:
                try:
                    info = json.loads(info_files[0].read_text())
                except (OSError, ValueError):
                    info = None
                if info and info.get("port"):
                    server.base_url = f"http://127.0.0.1:{info['port']}{info.get('base_url', '/')}"
                    try:
                        server.api("status", timeout=5)
                        return server
                    except (OSError, urllib.error.URLError):
                        pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start in {timeout:.0f} s:\n{server.log_tail()}")
            time.sleep(0.25)
    except BaseException:
        server.stop()
        raise


def fake_microphone_args(wav: Path) -> list[str]:
    """Chromium flags for a microphone that plays ``wav`` (once: ``%noloop``) and needs no permission click.

    ``wav`` must be a WAV file (Chromium's fake capture reads no FLAC); the other devices become fakes too.
    """
    return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}%noloop"]


def launch_chromium(playwright, user_data_dir: Path, executable: str, viewport=(1280, 1000),
                    extra_args: list[str] | tuple[str, ...] = ()):
    """A fresh persistent Chromium context (its own empty profile in ``user_data_dir``)."""
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=executable, headless=True, args=CHROMIUM_ARGS + list(extra_args),
        viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=1,
        accept_downloads=False, service_workers="block",
    )


# --------------------------------------------------------------------------------------------------
# JavaScript run inside JupyterLab (window.jupyterapp exists because of expose_app_in_browser).

JS_APP_READY = """(path) => {
    const w = window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.shell.currentWidget;
    return !!(w && w.context && w.context.path === path && w.sessionContext && w.content && w.content.widgets);
}"""

# Close every document (their kernels shut down; nothing saved, so no dialog), then open ``path`` in this app.
JS_OPEN_IN_APP = """async (path) => {
    for (const w of Array.from(window.jupyterapp.shell.widgets('main'))) {
        if (w.context) { w.context.model.dirty = false; }
        w.dispose();
    }
    await window.jupyterapp.commands.execute('docmanager:open', {path});
    return true;
}"""

JS_KERNEL_READY = """() => {
    const w = window.jupyterapp.shell.currentWidget;
    const sc = w && w.sessionContext;
    const k = sc && sc.session && sc.session.kernel;
    return !!(w.context && w.context.isReady && k && k.connectionStatus === 'connected'
              && k.status === 'idle');
}"""

# Record every error the kernel broadcasts (including from widget callbacks, which JupyterLab shows
# only in its log console, never in a cell).
JS_WATCH_ERRORS = """() => {
    const w = window.jupyterapp.shell.currentWidget;
    const k = w.sessionContext.session.kernel;
    window.__echoKernelErrors = [];
    k.iopubMessage.connect((_, msg) => {
        if (msg.header.msg_type === 'error') {
            const c = msg.content;
            window.__echoKernelErrors.push(c.ename + ': ' + c.evalue + '\\n' +
                (c.traceback || []).join('\\n').replace(/\\u001b\\[[0-9;]*m/g, ''));
        }
    });
    return true;
}"""

JS_KERNEL_ERRORS = "() => window.__echoKernelErrors || []"

JS_RUN_ALL = """async () => {
    const app = window.jupyterapp;
    await app.commands.execute('notebook:run-all-cells');
    return true;
}"""

# State of the run: cells still pending or running, the kernel's status, cells not yet executed.
JS_RUN_STATE = """() => {
    const w = window.jupyterapp.shell.currentWidget;
    const k = w.sessionContext.session && w.sessionContext.session.kernel;
    const cells = w.content.widgets;
    let busy = 0, unexecuted = 0, code = 0;
    for (const c of cells) {
        if (c.model.type !== 'code') continue;
        code += 1;
        const prompt = c.node.querySelector('.jp-InputPrompt');
        const text = prompt ? prompt.textContent : '';
        if (text.includes('*') || c.model.executionState === 'running') busy += 1;
        const src = c.model.sharedModel.getSource().trim();
        if (src && c.model.executionCount === null) unexecuted += 1;
    }
    return {kernel: k ? k.status : 'none', connection: k ? k.connectionStatus : 'none',
            busy, unexecuted, code};
}"""

# Every output of every code cell, from the models (not the pixels): type, mime types, error text.
JS_OUTPUTS = """() => {
    const w = window.jupyterapp.shell.currentWidget;
    const result = [];
    w.content.widgets.forEach((c, index) => {
        if (c.model.type !== 'code') return;
        const outputs = c.model.outputs;
        for (let i = 0; i < outputs.length; i++) {
            const o = outputs.get(i).toJSON();
            const entry = {cell: index, type: o.output_type};
            if (o.output_type === 'error') {
                entry.ename = o.ename; entry.evalue = o.evalue;
                entry.traceback = (o.traceback || []).join('\\n').replace(/\\u001b\\[[0-9;]*m/g, '');
            } else if (o.output_type === 'stream') {
                entry.name = o.name;
                entry.text = Array.isArray(o.text) ? o.text.join('') : o.text;
            } else {
                entry.mimes = Object.keys(o.data || {});
            }
            result.push(entry);
        }
    });
    return result;
}"""

JS_KERNEL_ALIVE = """async () => {
    const w = window.jupyterapp.shell.currentWidget;
    const k = w.sessionContext.session && w.sessionContext.session.kernel;
    if (!k || k.isDisposed || k.status === 'dead') return {alive: false, status: k ? k.status : 'none'};
    const future = k.requestExecute({code: '__echo_edu_alive__ = 6 * 7', silent: true,
                                     store_history: false});
    const reply = await future.done;
    return {alive: reply.content.status === 'ok', status: k.status};
}"""

JS_SHUTDOWN_KERNEL = """async () => {
    const w = window.jupyterapp.shell.currentWidget;
    if (w && w.sessionContext) { await w.sessionContext.shutdown(); }
    return true;
}"""


def wait_until(page, js: str, timeout_s: float, what: str, poll_s: float = 0.5):
    """Poll ``js`` in the page until it returns a truthy value; raise ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(js)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        page.wait_for_timeout(int(poll_s * 1000))


class LabDialogError(AssertionError):
    """JupyterLab showed an error dialog (for example a file that cannot be opened)."""


def handle_dialogs(page) -> None:
    """Accept a kernel-selection dialog; raise :class:`LabDialogError` with the text of any other."""
    dialog = page.locator(".jp-Dialog")
    if not dialog.count():
        return
    text = dialog.first.inner_text()
    if "Select Kernel" in text or "select kernel" in text.lower():
        page.locator(".jp-Dialog .jp-mod-accept").first.click()
        return
    raise LabDialogError(f"JupyterLab showed a dialog: {' '.join(text.split())[:3000]}")


def open_notebook(page, server: LabServer, name: str, timeout_s: float = 120.0, reuse: bool = False) -> None:
    """Open ``name`` in JupyterLab and wait until its kernel is connected and idle: in a freshly loaded
    JupyterLab, or with ``reuse`` in the one loaded in ``page`` (a new kernel and widget manager all the same)."""
    if reuse:
        page.evaluate(JS_OPEN_IN_APP, name)
    else:
        # ?reset: start from an empty workspace, so earlier notebooks' tabs (and kernels) are not restored
        page.goto(server.url(f"lab/tree/{name}?reset"), wait_until="domcontentloaded", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(JS_APP_READY, name):
        handle_dialogs(page)
        if time.monotonic() > deadline:
            raise TimeoutError(f"JupyterLab never showed {name}")
        page.wait_for_timeout(100)
    while not page.evaluate(JS_KERNEL_READY):
        handle_dialogs(page)
        if time.monotonic() > deadline:
            raise TimeoutError(f"kernel for {name} never became idle")
        page.wait_for_timeout(100)
    page.evaluate(JS_WATCH_ERRORS)


def run_all_cells(page, timeout_s: float, poll_s: float = 0.2) -> dict:
    """Run every cell through JupyterLab's own command and wait until nothing is queued or running.

    The command's promise settles when every cell has its reply; the polls after it wait until the kernel
    has been idle, with no cell busy, for three polls in a row (widget comm traffic settled).
    """
    deadline = time.monotonic() + timeout_s
    page.evaluate(JS_RUN_ALL)
    idle_polls = 0
    while True:
        state = page.evaluate(JS_RUN_STATE)
        if state["kernel"] in ("dead", "unknown") or state["connection"] == "disconnected":
            return state
        if state["busy"] == 0 and state["kernel"] == "idle":
            idle_polls += 1
            if idle_polls >= 3:
                return state
        else:
            idle_polls = 0
        if time.monotonic() > deadline:
            state["timed_out"] = True
            return state
        page.wait_for_timeout(int(poll_s * 1000))


def error_outputs(outputs: list[dict]) -> list[str]:
    """Readable descriptions of the error outputs (and tracebacks printed to stderr)."""
    problems = []
    for o in outputs:
        if o["type"] == "error":
            problems.append(f"cell {o['cell']}: {o['ename']}: {o['evalue']}\n{o.get('traceback', '')[-2000:]}")
        elif o["type"] == "stream" and o.get("name") == "stderr" and "Traceback (most recent call last)" in (o.get("text") or ""):
            problems.append(f"cell {o['cell']}: traceback on stderr\n{o['text'][-2000:]}")
    return problems

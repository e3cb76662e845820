"""What the real-browser test does to each lesson's widgets: read the page, move controls, upload, record.

Used by ``test_browser_notebooks.py``: JavaScript snippets that report widget views and plotly figures
from the DOM, and the actions a person would take (keyboard on a slider, another dropdown entry, an
upload, the microphone's record/stop), each returning a short description of what changed.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from browser_support import JS_KERNEL_ERRORS, wait_until

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
MIC_CLIP = ROOT / "assets" / "samples" / "digits_heldout_espeak_2.flac"   # a held-out voice, transcribed exactly
MIC_PAD_S = 0.25           # silence around the clip in the fake microphone's WAV
# --------------------------------------------------------------------------------------------------
# DOM inspection (run in the page)

JS_WIDGET_REPORT = """() => {
    // widget outputs found through the cell models, then their DOM (the widget renderer sets no
    // data-mime-type): the i-th output of a cell is the i-th child of its top-level output area.
    const w = window.jupyterapp.shell.currentWidget;
    const views = [];
    w.content.widgets.forEach((c, cellIndex) => {
        if (c.model.type !== 'code') return;
        const children = Array.from(c.outputArea.node.children)
                              .filter(e => e.classList.contains('jp-OutputArea-child'));
        for (let i = 0; i < c.model.outputs.length; i++) {
            const o = c.model.outputs.get(i).toJSON();
            if (!o.data || !o.data['application/vnd.jupyter.widget-view+json']) continue;
            const el = children[i] ? children[i].querySelector('.jp-OutputArea-output') : null;
            const index = views.length;
            if (!el) { views.push({index, cell: cellIndex, rendered: false, missing: true}); continue; }
            el.setAttribute('data-echo-view', String(index));
            const text = el.innerText || '';
            const outputs = Array.from(el.querySelectorAll('.widget-output'));
            views.push({
                index, cell: cellIndex,
                rendered: !!el.querySelector('.jupyter-widgets'),
                loading: /Loading widget/i.test(text),
                error: /Error displaying widget|Error creating widget|Model not found/i.test(text),
                sliders: el.querySelectorAll('.widget-slider .noUi-handle, .widget-hslider .noUi-handle, input[type=range]').length,
                dropdowns: el.querySelectorAll('.widget-dropdown select').length,
            uploads: el.querySelectorAll('.widget-upload').length,
                microphones: el.querySelectorAll('.echo-mic-record').length,
                plots: el.querySelectorAll('.js-plotly-plot').length,
                outputs: outputs.length,
                emptyOutputs: outputs.filter(o => !o.querySelector('.jp-OutputArea-output')).length,
                tracebacks: Array.from(el.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]'))
                              .map(e => e.innerText).filter(t => /Traceback|Error/.test(t)),
            });
        }
    });
    return views;
}"""

JS_PLOT_REPORT = """() => {
    const plots = Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .js-plotly-plot'));
    return plots.map(p => {
        const r = p.getBoundingClientRect();
        return {drawn: !!p.querySelector('.main-svg'), width: r.width, height: r.height,
                traces: (p.data || []).length};
    });
}"""

# The figure a widget shows, as data: what plotly drew (its data and layout), not its random SVG ids.
JS_VIEW_FIGURE = """(index) => {
    const el = document.querySelector(`[data-echo-view="${index}"]`);
    if (!el) return null;
    const plots = Array.from(el.querySelectorAll('.js-plotly-plot'));
    const imgs = Array.from(el.querySelectorAll('.widget-output img')).map(i => i.src.slice(-200));
    const plain = Array.from(el.querySelectorAll('.widget-output .jp-RenderedText')).map(t => t.innerText);
    const seen = new WeakSet();
    const replacer = (k, v) => {
        if (k === 'uid' || k === '_input' || k === '_fullInput' || k === 'template') return undefined;
        if (v && typeof v === 'object') {
            if (ArrayBuffer.isView(v)) return Array.from(v);
            if (seen.has(v)) return undefined;
            seen.add(v);
        }
        return v;
    };
    const figures = plots.map(p => ({drawn: !!p.querySelector('.main-svg'),
        spec: JSON.stringify({data: p.data, layout: p.layout}, replacer)}));
    return {figures, imgs, plain};
}"""


def _figure_signature(page, index):
    state = page.evaluate(JS_VIEW_FIGURE, index)
    if state is None:
        return None
    if not state["figures"] and not state["imgs"] and not state["plain"]:
        return None  # the Output is being redrawn (cleared, not yet refilled)
    if any(not f["drawn"] for f in state["figures"]):
        return None  # plotly has not drawn yet
    return json.dumps(state, sort_keys=True)


def _control_moves(page, index, limit: int = 4):
    """Up to ``limit`` moves of the controls of widget view ``index``, each a callable returning its label.

    Moves are what a person does: a slider with room to move goes one step (keyboard on its handle,
    back one step when it sits at its maximum); a dropdown switches to each other entry in turn. A
    slider whose minimum equals its maximum (e.g. "example" over a batch of one) cannot move. Several
    moves are offered because one may legitimately leave the picture as it was (the mean over one
    block equals that block).
    """
    view = page.locator(f'[data-echo-view="{index}"]')
    moves = []
    handles = view.locator(".widget-slider .noUi-handle, .widget-hslider .noUi-handle")
    for i in range(handles.count()):
        handle = handles.nth(i)
        now = float(handle.get_attribute("aria-valuenow") or 0)
        low = float(handle.get_attribute("aria-valuemin") or now)
        top = float(handle.get_attribute("aria-valuemax") or now)
        if top > low:
            def press(handle=handle, key="ArrowLeft" if now >= top else "ArrowRight", i=i):
                handle.scroll_into_view_if_needed()
                handle.focus()
                handle.press(key)
                return f"slider {i} {key}"
            moves.append(press)
    selects = view.locator(".widget-dropdown select")
    for i in range(selects.count()):
        select = selects.nth(i)
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("s => s.options[s.selectedIndex] ? s.options[s.selectedIndex].text : ''")
        for other in [o for o in options if o != current][:2]:
            def pick(select=select, other=other, i=i):
                select.scroll_into_view_if_needed()
                select.select_option(label=other)
                return f"dropdown {i} -> {other}"
            moves.append(pick)
    return moves[:limit]


JS_KERNEL_STATUS = """() => {
    const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    return k ? k.status : 'none';
}"""


def _settle(page, index, timeout_s) -> str | None:
    """Wait until the kernel has handled the change (idle for a while) and the widget shows a drawn
    figure again; return that figure's signature (``None`` if it never came back)."""
    deadline = time.monotonic() + timeout_s
    idle = 0
    page.wait_for_timeout(300)
    while time.monotonic() < deadline:
        idle = idle + 1 if page.evaluate(JS_KERNEL_STATUS) == "idle" else 0
        if idle >= 3:
            signature = _figure_signature(page, index)
            if signature is not None:
                return signature
        page.wait_for_timeout(300)
    return None


def _exercise_figure(page, name, view, timeout_s) -> str:
    """Move the controls of a figure widget until its figure changes; return what did it."""
    index = view["index"]
    before = _figure_signature(page, index)
    assert before is not None, f"{name}: widget {index} shows no drawn figure"
    tried = []
    for move in _control_moves(page, index):
        action = move()
        tried.append(action)
        after = _settle(page, index, timeout_s)
        errors = page.evaluate(JS_KERNEL_ERRORS)
        assert not errors, f"{name}: the kernel raised after {action}:\n" + _short(errors)
        report = page.evaluate(JS_WIDGET_REPORT)[index]
        assert not report["tracebacks"] and not report["error"], f"{name}: after {action}: {report}"
        assert after is not None, f"{name}: widget {index} showed no figure within {timeout_s} s after {action}"
        if after != before:
            return action
    if not tried:
        return "no movable control"
    pytest.fail(f"{name}: widget {index}'s figure did not change after any of: {', '.join(tried)}")


SAMPLE_AUDIO = sorted((ROOT / "assets" / "samples").glob("*.flac"))[:1] + sorted((ROOT / "assets" / "samples").glob("*.wav"))[:1]


def _exercise_upload(page, name, view, timeout_s) -> str:
    """Upload a bundled sample clip through a FileUpload widget; its output must fill without errors."""
    if not SAMPLE_AUDIO:
        return "no sample audio to upload"
    index = view["index"]
    button = page.locator(f'[data-echo-view="{index}"] .widget-upload').first
    button.scroll_into_view_if_needed()
    with page.expect_file_chooser(timeout=10_000) as chooser:   # the widget opens the browser's file dialog
        button.click()
    chooser.value.set_files(str(SAMPLE_AUDIO[0]))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.wait_for_timeout(500)
        report = page.evaluate(JS_WIDGET_REPORT)[index]
        if report["emptyOutputs"] == 0 and page.evaluate(JS_KERNEL_STATUS) == "idle":
            break
    errors = page.evaluate(JS_KERNEL_ERRORS)
    assert not errors, f"{name}: the kernel raised after an upload:\n" + _short(errors)
    report = page.evaluate(JS_WIDGET_REPORT)[index]
    assert report["emptyOutputs"] == 0, f"{name}: nothing appeared after uploading {SAMPLE_AUDIO[0].name}"
    assert not report["tracebacks"] and not report["error"], f"{name}: after the upload: {report}"
    text = page.locator(f'[data-echo-view="{index}"] .widget-output').first.inner_text()
    assert "cannot transcribe" not in text and "Error" not in text, f"{name}: upload output: {text[:500]}"
    return f"uploaded {SAMPLE_AUDIO[0].name}"


JS_MICROPHONE = """(index) => {
    const view = document.querySelector(`[data-echo-view="${index}"]`);
    const mic = view && view.querySelector('.echo-mic');
    const transcript = view && view.querySelector('.echo-mic-transcript');
    return {state: mic ? mic.dataset.state : null,
            status: mic ? mic.querySelector('.echo-mic-status').innerText : null,
            transcript: transcript ? transcript.innerText : '',
            plots: view ? view.querySelectorAll('.widget-output .js-plotly-plot .main-svg').length : 0};
}"""


def _microphone_expectation(model_name: str) -> str:
    """What lesson 10's microphone must write for :data:`MIC_CLIP`: its reference text when the bundled
    digits model listens (it gets this clip right), else what the listening model makes of the file itself
    with the decoding the microphone uses (``assets/echo-an4``: joint CTC/attention; only then is torch
    imported here)."""
    if model_name == "echo-digits":
        manifest = json.loads((MIC_CLIP.parent / "manifest.json").read_text())
        return next(r["text"] for r in manifest if r["file"] == MIC_CLIP.name)
    from echo_edu import Echo, transcribe
    from echo_edu.decode import default_decoding
    model = Echo.from_pretrained(ROOT / "assets" / model_name)
    return transcribe(model, MIC_CLIP, **default_decoding(model))


def _exercise_microphone(page, name, view, timeout_s) -> str:
    """Press record, let the fake microphone play the clip, press stop; the clip's transcript must appear."""
    import soundfile as sf

    index = view["index"]
    button = page.locator(f'[data-echo-view="{index}"] .echo-mic-record').first
    button.scroll_into_view_if_needed()
    before = page.evaluate(JS_MICROPHONE, index)
    button.click()
    wait_until(page, f"() => ({JS_MICROPHONE})({index}).state === 'recording'", 15, "the microphone to record")
    page.wait_for_timeout(int((sf.info(str(MIC_CLIP)).duration + 2 * MIC_PAD_S + 0.1) * 1000))
    button.click()
    wait_until(page, f"() => {{ const m = ({JS_MICROPHONE})({index}); return m.transcript !== "
                     f"{json.dumps(before['transcript'])} && m.plots >= 2; }}", timeout_s,
               "the recording's transcript and figures")
    errors = page.evaluate(JS_KERNEL_ERRORS)
    assert not errors, f"{name}: the kernel raised after a recording:\n" + _short(errors)
    after = page.evaluate(JS_MICROPHONE, index)
    _screenshot_view(page, index, "10_transcription-microphone.png")
    listener = re.search(r"· model (\S+?)\)", after["transcript"])
    assert listener, f"{name}: the transcript does not name its model: {after}"
    expected = _microphone_expectation(listener.group(1))
    assert "You said" in after["transcript"] and f"“{expected}”" in after["transcript"], \
        f"{name}: the microphone heard {after} (expected “{expected}”)"
    return f"recorded {MIC_CLIP.name}: {after['transcript']}"


def _short(errors: list[str]) -> str:
    """The first line and the last part of each traceback (the exception and where it was raised)."""
    return "\n\n".join(e.splitlines()[0] + "\n...\n" + e[-1500:] if len(e) > 1800 else e for e in errors)


def _screenshot_view(page, index, filename):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page.locator(f'[data-echo-view="{index}"]').screenshot(path=str(ARTIFACTS / filename))
    except Exception as exc:  # evidence, never the reason a test fails
        print(f"screenshot {filename} failed: {exc}")



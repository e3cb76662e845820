// Lesson 10's microphone, the browser half (an anywidget ES module; the Python half is microphone.py).
//
// Press "record": the page asks for the microphone (getUserMedia), an AudioWorklet (a ScriptProcessor
// where AudioWorklet is missing) copies the mono float samples out of the audio graph and a canvas
// draws the waveform as it comes in. Press "stop" (or reach max_seconds): the samples are converted
// to int16 PCM and sent to the kernel as one binary buffer with their sample rate:
//   model.send({type: "recording", sample_rate, dtype: "int16", samples}, undefined, [pcm.buffer])
// The kernel resamples to 16 kHz, transcribes, draws the figures and sets the `status` trait.

const WORKLET = `
class EchoCapture extends AudioWorkletProcessor {
  process(inputs) {
    const channels = inputs[0];
    if (channels && channels.length) {
      const mono = new Float32Array(channels[0].length);
      for (const channel of channels) for (let i = 0; i < mono.length; i++) mono[i] += channel[i] / channels.length;
      this.port.postMessage(mono, [mono.buffer]);
    }
    return true;
  }
}
registerProcessor("echo-capture", EchoCapture);
`;

function explain(error) {
  const name = error && error.name;
  if (name === "NotAllowedError") return "microphone access was refused: allow it for this page and press record again";
  if (name === "NotFoundError") return "no microphone found: plug one in and press record again";
  if (name === "NotReadableError") return "the microphone is busy or cannot be read (another program may hold it)";
  return `cannot record: ${error && error.message ? error.message : error}`;
}

async function openCapture(onChunk) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("this page offers no microphone (browsers allow recording on https:// or localhost only)");
  }
  const context = new AudioContext();          // created inside the click: allowed to start
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: {channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false},
    });
  } catch (error) {
    await context.close();
    throw error;
  }
  await context.resume();
  const source = context.createMediaStreamSource(stream);
  let node;
  if (context.audioWorklet && typeof AudioWorkletNode !== "undefined") {
    const url = URL.createObjectURL(new Blob([WORKLET], {type: "application/javascript"}));
    try {
      await context.audioWorklet.addModule(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    node = new AudioWorkletNode(context, "echo-capture");
    node.port.onmessage = (event) => onChunk(event.data);
  } else {
    node = context.createScriptProcessor(4096, 1, 1);
    node.onaudioprocess = (event) => onChunk(new Float32Array(event.inputBuffer.getChannelData(0)));
  }
  source.connect(node);
  node.connect(context.destination);           // silent output: keeps the node processing
  const close = async () => {
    source.disconnect();
    node.disconnect();
    stream.getTracks().forEach((track) => track.stop());
    await context.close();
  };
  return {rate: context.sampleRate, close};
}

function toInt16(chunks, total) {
  const pcm = new Int16Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const x = Math.max(-1, Math.min(1, chunk[i]));
      pcm[offset + i] = Math.round(x * 32767);
    }
    offset += chunk.length;
  }
  return pcm;
}

function drawLevels(canvas, peaks, maxColumns) {
  const g = canvas.getContext("2d");
  const {width, height} = canvas;
  g.clearRect(0, 0, width, height);
  g.fillStyle = "#1f77b4";
  const step = width / maxColumns;
  peaks.forEach((peak, i) => {
    const h = Math.max(1, peak * height);
    g.fillRect(i * step, (height - h) / 2, Math.max(1, step - 1), h);
  });
}

function render({model, el}) {
  el.classList.add("echo-mic");
  const button = document.createElement("button");
  button.className = "echo-mic-record jupyter-button";
  const canvas = document.createElement("canvas");
  canvas.className = "echo-mic-levels";
  canvas.width = 480;
  canvas.height = 48;
  const status = document.createElement("span");
  status.className = "echo-mic-status";
  el.append(button, canvas, status);

  let session = null;          // {capture, chunks, total, peaks, peak, counted, timer}
  const columnsPerSecond = 20;
  const setState = (state, text) => {
    el.dataset.state = state;
    button.textContent = state === "recording" ? "■ stop" : "● record";
    button.disabled = state === "starting";
    if (text !== undefined) status.textContent = text;
  };
  setState("idle", model.get("status"));
  model.on("change:status", () => {
    status.textContent = model.get("status");
    if (!session) el.dataset.state = "idle";
  });

  async function start() {
    setState("starting", "asking for the microphone…");
    const maxSeconds = model.get("max_seconds");
    const s = {chunks: [], total: 0, peaks: [], peak: 0, counted: 0};
    try {
      s.capture = await openCapture((chunk) => {
        s.chunks.push(chunk);
        s.total += chunk.length;
        const perColumn = s.capture ? s.capture.rate / columnsPerSecond : Infinity;
        for (let i = 0; i < chunk.length; i++) {      // one bar per 50 ms: the loudest sample in it
          s.peak = Math.max(s.peak, Math.abs(chunk[i]));
          if (++s.counted >= perColumn) { s.peaks.push(s.peak); s.peak = 0; s.counted = 0; }
        }
      });
    } catch (error) {
      setState("idle", explain(error));
      return;
    }
    session = s;
    setState("recording", "recording… speak now");
    s.timer = setInterval(() => {
      const seconds = s.total / s.capture.rate;
      drawLevels(canvas, s.peaks, maxSeconds * columnsPerSecond);
      status.textContent = `recording… ${seconds.toFixed(1)} s (stops at ${maxSeconds} s)`;
      if (seconds >= maxSeconds) stop();
    }, 100);
  }

  async function stop() {
    const s = session;
    if (!s) return;
    session = null;
    clearInterval(s.timer);
    await s.capture.close();
    const pcm = toInt16(s.chunks, s.total);
    const seconds = s.total / s.capture.rate;
    setState("sending", `sent ${seconds.toFixed(1)} s at ${s.capture.rate} Hz: transcribing…`);
    model.send({type: "recording", sample_rate: s.capture.rate, dtype: "int16", samples: s.total},
               undefined, [pcm.buffer]);
  }

  button.addEventListener("click", () => (session ? stop() : start()));
  return () => {
    if (session) {
      clearInterval(session.timer);
      session.capture.close();
      session = null;
    }
  };
}

export default {render};

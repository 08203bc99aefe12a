// AudioWorklet processor: records the microphone's raw PCM (first channel, float32, the context's rate)
// into fixed-size chunks and posts each with its sample counter and the context frame of its first sample.
// Also posts peak/RMS levels about 20 times a second for the meter.
class RecorderProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.chunkSize = (options.processorOptions && options.processorOptions.chunkSize) || sampleRate;
    this.buf = new Float32Array(this.chunkSize);
    this.fill = 0;
    this.recording = false;
    this.sampleCount = 0;       // samples recorded so far (the track's sample counter)
    this.chunkFrame = 0;        // context frame of the current chunk's first sample
    this.chunkStart = 0;        // sample counter of the current chunk's first sample
    this.levelEvery = Math.round(sampleRate / 20);
    this.levelN = 0; this.peak = 0; this.sumSq = 0;
    // Runs of exact zeros in the input: a live microphone never gives 64 in a row, but Chrome's
    // MediaStream -> WebAudio FIFO does when it runs dry under load (one 10 ms capture buffer of zeros,
    // after which the audio arrives that much later). Reported, with whether recording was on.
    // (the zeros before the device's first sample are only its start, and are marked so)
    this.zeroRun = 0; this.heard = false; this.runAfterAudio = false;
    this.port.onmessage = (e) => {
      if (e.data.cmd === "start") { this.recording = true; }
      else if (e.data.cmd === "stop") { this.recording = false; this.flush(); this.port.postMessage({type: "stopped", samples: this.sampleCount}); }
    };
  }
  flush() {
    if (this.fill === 0) return;
    const out = this.buf.slice(0, this.fill);
    this.port.postMessage({type: "chunk", samples: out, sampleStart: this.chunkStart, frame: this.chunkFrame}, [out.buffer]);
    this.fill = 0;
  }
  zeros(endFrame) {
    this.port.postMessage({type: "zeros", frame: endFrame - this.zeroRun, length: this.zeroRun,
                           afterAudio: this.runAfterAudio, recording: this.recording, sampleCount: this.sampleCount});
  }
  process(inputs) {
    const input = inputs[0];
    const ch = input && input.length ? input[0] : null;
    const n = ch ? ch.length : 128;
    for (let i = 0; i < n; i++) {
      const v = ch ? ch[i] : 0;
      const a = v < 0 ? -v : v;
      if (a > this.peak) this.peak = a;
      if (v === 0) { if (this.zeroRun++ === 0) this.runAfterAudio = this.heard; }
      else { if (this.zeroRun >= 64) this.zeros(currentFrame + i); this.zeroRun = 0; this.heard = true; }
      this.sumSq += v * v;
    }
    this.levelN += n;
    if (this.levelN >= this.levelEvery) {
      this.port.postMessage({type: "level", peak: this.peak, rms: Math.sqrt(this.sumSq / this.levelN)});
      this.levelN = 0; this.peak = 0; this.sumSq = 0;
    }
    if (this.recording) {
      let i = 0;
      while (i < n) {
        if (this.fill === 0) { this.chunkStart = this.sampleCount; this.chunkFrame = currentFrame + i; }
        const take = Math.min(n - i, this.chunkSize - this.fill);
        if (ch) this.buf.set(ch.subarray(i, i + take), this.fill); else this.buf.fill(0, this.fill, this.fill + take);
        this.fill += take; this.sampleCount += take; i += take;
        if (this.fill === this.chunkSize) this.flush();
      }
    }
    return true;
  }
}
registerProcessor("twotrack-recorder", RecorderProcessor);

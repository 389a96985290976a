// The review page of one job: its waveform with every segment of its plan as
// a region, its transcript with cut words struck through, a player for the
// source and the render, and the commands that edit, render and approve the
// plan. It reads and changes the job only through the job API, as any client
// does, for the tenant its address names and with the token typed into it
// (kept for this tab only).
import WaveSurfer from "./wavesurfer.esm.js";
import RegionsPlugin from "./regions.esm.js";

const COLOURS = {
  pause: "rgba(214, 69, 65, 0.38)",
  filler: "rgba(232, 152, 20, 0.45)",
  kept: "rgba(46, 160, 90, 0.14)",
};
const EXPORTS = ["fcpxml", "xml", "edl", "otio", "srt", "vtt"];
const FINISHED = new Set(["completed", "failed", "cancelled"]);
const FOLLOW_MS = 1000;
const TOKEN_KEY = "talkavocado.token";
// Without a picture the plan has no frames: its times are to the millisecond.
const NO_FRAMES = 1000;

const page = document.getElementById("review");
const $ = (id) => document.getElementById(id);
const jobId = decodeURIComponent(location.pathname.split("/").pop() || "");
const tenantId = new URLSearchParams(location.search).get("tenantId");
// Deployed, the API lives under its stage (/dev/review/...): the same prefix.
const apiBase = location.pathname.slice(0, location.pathname.lastIndexOf("/review/"));

const state = {
  job: null,
  plan: null, // {version, segments: [{start, end, action, reason}]}
  segments: [],
  fps: NO_FRAMES,
  duration: 0,
  words: [], // [{start, end, element}]
  regions: [],
  wavesurfer: null,
  regionsPlugin: null,
  edited: false,
  following: false,
};

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `the API answered ${status}`);
    this.status = status;
    this.code = body && body.error ? body.error.code : undefined;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function url(path) {
  const query = tenantId ? `?tenantId=${encodeURIComponent(tenantId)}` : "";
  return `${apiBase}/jobs/${encodeURIComponent(jobId)}${path}${query}`;
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url(path), {
    method: options.method || "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    cache: "no-store",
    credentials: "omit",
    referrerPolicy: "no-referrer",
  });
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (response.status === 401) askForToken();
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function askForToken() {
  $("token-form").hidden = false;
}

function say(text, error = false) {
  const message = $("message");
  message.textContent = text;
  message.classList.toggle("error", error);
}

function refuse(error) {
  page.dataset.state = "refused";
  $("workspace").hidden = true;
  const refusal = $("refusal");
  refusal.hidden = false;
  refusal.dataset.status = String(error.status || "");
  refusal.textContent =
    error.status === 404
      ? `No such job for tenant ${tenantId || "(none named)"}: ${error.message}.`
      : `This job cannot be shown: ${error.message}.`;
}

// ---- the plan -------------------------------------------------------------

function kindOf(segment) {
  if (segment.action === "keep") return "kept";
  return /filler/i.test(segment.reason || "") ? "filler" : "pause";
}

function snap(seconds) {
  return Math.round(seconds * state.fps) / state.fps;
}

function keptSeconds(segments) {
  let kept = 0;
  for (const s of segments) if (s.action === "keep") kept += s.end - s.start;
  return kept;
}

function cutCount(segments) {
  let cuts = 0;
  for (const s of segments) if (s.action === "cut") cuts += 1;
  return cuts;
}

function showSummary() {
  const segments = state.segments;
  const kept = keptSeconds(segments);
  const summary = $("summary");
  summary.dataset.keptSeconds = kept.toFixed(3);
  summary.dataset.cuts = String(cutCount(segments));
  summary.textContent =
    `${cutCount(segments)} cuts, keeps ${kept.toFixed(2)} s of ${state.duration.toFixed(2)} s` +
    (state.plan && state.plan.version ? ` (plan version ${state.plan.version})` : "") +
    (state.edited ? ", edited: Render to apply" : "");
}

// The segment a time falls in: the plan covers the input, in order.
function segmentAt(seconds) {
  const segments = state.segments;
  let low = 0;
  let high = segments.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (segments[middle].end <= seconds) low = middle + 1;
    else if (segments[middle].start > seconds) high = middle - 1;
    else return middle;
  }
  return -1;
}

function markWords() {
  for (const word of state.words) {
    const index = segmentAt((word.start + word.end) / 2);
    const cut = index >= 0 && state.segments[index].action === "cut";
    word.element.classList.toggle("cut", cut);
  }
}

function decorate(region, index) {
  const segment = state.segments[index];
  const element = region.element;
  element.dataset.segmentIndex = String(index);
  element.dataset.action = segment.action;
  element.dataset.kind = kindOf(segment);
  element.title = `${segment.action} ${segment.start.toFixed(2)}-${segment.end.toFixed(2)} s: ${segment.reason}`;
}

function flip(index) {
  const segment = state.segments[index];
  segment.action = segment.action === "cut" ? "keep" : "cut";
  if (segment.action === "cut" && segment.reason === "speech") segment.reason = "cut by hand";
  const region = state.regions[index];
  region.setOptions({ color: COLOURS[kindOf(segment)] });
  decorate(region, index);
  state.edited = true;
  markWords();
  showSummary();
}

// A boundary dragged: the neighbour's edge follows it, both on the frame grid.
function moveBoundary(region, side) {
  const index = Number(region.element.dataset.segmentIndex);
  const segments = state.segments;
  const frame = 1 / state.fps;
  if (side === "start" && index > 0) {
    const low = segments[index - 1].start + frame;
    const high = segments[index].end - frame;
    const at = Math.min(Math.max(snap(region.start), low), high);
    segments[index].start = at;
    segments[index - 1].end = at;
    state.regions[index - 1].setOptions({ end: at });
  } else if (side === "end" && index < segments.length - 1) {
    const low = segments[index].start + frame;
    const high = segments[index + 1].end - frame;
    const at = Math.min(Math.max(snap(region.end), low), high);
    segments[index].end = at;
    segments[index + 1].start = at;
    state.regions[index + 1].setOptions({ start: at });
  }
  region.setOptions({ start: segments[index].start, end: segments[index].end });
  decorate(region, index);
  state.edited = true;
  markWords();
  showSummary();
}

// ---- drawing --------------------------------------------------------------

// audiowaveform's pairs (min, max) as wavesurfer's -1..1 samples, padded with
// silence to ``duration``: the player's timeline may run past the audio (a
// picture longer than its sound), and the regions are placed on it.
function peaksOf(document, duration) {
  const data = document.data || [];
  const scale = document.bits === 16 ? 32768 : 128;
  const perSecond = (document.sample_rate || 1) / (document.samples_per_pixel || 1);
  const pixels = Math.max(data.length / 2, Math.ceil(duration * perSecond));
  const peaks = new Float32Array(pixels * 2);
  for (let i = 0; i < data.length; i += 1) peaks[i] = data[i] / scale;
  return peaks;
}

// The player's duration once it knows it (0: it has no media, or fails).
function mediaDuration(player) {
  if (!player.getAttribute("src")) return Promise.resolve(0);
  if (player.readyState >= 1) return Promise.resolve(player.duration || 0);
  return new Promise((resolve) => {
    const done = () => resolve(Number.isFinite(player.duration) ? player.duration : 0);
    player.addEventListener("loadedmetadata", done, { once: true });
    player.addEventListener("error", () => resolve(0), { once: true });
    setTimeout(() => resolve(0), 10_000);
  });
}

function createWaveform(peaks, duration, withMedia) {
  const container = $("waveform");
  const nonce = document.documentElement.dataset.styleNonce;
  const regionsPlugin = RegionsPlugin.create();
  const width = container.clientWidth || 1000;
  // Long jobs scroll: at least 20 pixels a second, so short segments stay clickable.
  const minPxPerSec = Math.max(width / Math.max(duration, 1), 20);
  const wavesurfer = WaveSurfer.create({
    container,
    height: 140,
    waveColor: "#7d8a99",
    progressColor: "#3d4752",
    cursorColor: "#0a6cda",
    cursorWidth: 2,
    ...(withMedia ? { media: $("source-player") } : {}),
    peaks: [peaks],
    duration,
    minPxPerSec,
    fillParent: true,
    autoScroll: true,
    autoCenter: false,
    dragToSeek: false,
    cspNonce: nonce,
    plugins: [regionsPlugin],
  });
  state.wavesurfer = wavesurfer;
  state.regionsPlugin = regionsPlugin;
  regionsPlugin.on("region-clicked", (region, event) => {
    event.stopPropagation();
    const index = Number(region.element.dataset.segmentIndex);
    flip(index);
    play("source");
    wavesurfer.setTime(region.start);
  });
  regionsPlugin.on("region-updated", (region, side) => moveBoundary(region, side));
  wavesurfer.on("timeupdate", (seconds) => highlightWordAt(seconds));
}

function drawRegions() {
  const plugin = state.regionsPlugin;
  plugin.clearRegions();
  const last = state.segments.length - 1;
  state.regions = state.segments.map((segment, index) => {
    const region = plugin.addRegion({
      id: `segment-${index}`,
      start: segment.start,
      end: segment.end,
      color: COLOURS[kindOf(segment)],
      drag: false,
      resize: true,
      resizeStart: index > 0,
      resizeEnd: index < last,
      minLength: 1 / state.fps,
    });
    decorate(region, index);
    return region;
  });
}

function drawTranscript(transcript) {
  const container = $("transcript");
  const fragment = document.createDocumentFragment();
  state.words = [];
  for (const segment of (transcript && transcript.segments) || []) {
    for (const word of segment.words || []) {
      const element = document.createElement("span");
      element.textContent = word.word;
      element.dataset.start = String(word.start);
      element.dataset.end = String(word.end);
      fragment.append(element, " ");
      state.words.push({ start: word.start, end: word.end, element });
    }
  }
  container.replaceChildren(fragment);
}

let highlighted = null;
function highlightWordAt(seconds) {
  const words = state.words;
  let low = 0;
  let high = words.length - 1;
  let found = null;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (words[middle].end < seconds) low = middle + 1;
    else if (words[middle].start > seconds) high = middle - 1;
    else {
      found = words[middle];
      break;
    }
  }
  if (found === highlighted) return;
  if (highlighted) highlighted.element.classList.remove("now");
  if (found) found.element.classList.add("now");
  highlighted = found;
}

function drawExports() {
  const list = $("exports");
  const fragment = document.createDocumentFragment();
  for (const format of EXPORTS) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = url(`/exports/${format}`);
    link.textContent = format === "srt" || format === "vtt" ? `captions (.${format})` : `.${format}`;
    link.dataset.export = format;
    link.addEventListener("click", (event) => download(event, format));
    item.append(link);
    fragment.append(item);
  }
  list.replaceChildren(fragment);
}

// With a token, a plain link cannot send it: fetched with it, saved from memory.
async function download(event, format) {
  if (!token()) return;
  event.preventDefault();
  const response = await fetch(url(`/exports/${format}`), {
    headers: { Authorization: `Bearer ${token()}` },
    credentials: "omit",
  });
  if (!response.ok) {
    say(`The ${format} export is not available (${response.status}).`, true);
    return;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = `${jobId}.${format}`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

// Everything drawn from the job's data, timed: the page's own cost.
function render(peaksDocument, transcript, playerSeconds) {
  const started = performance.now();
  const segments = state.segments;
  state.duration = segments.length ? segments[segments.length - 1].end : 0;
  if (!state.wavesurfer) {
    const timeline = Math.max(playerSeconds, state.duration);
    createWaveform(peaksOf(peaksDocument, timeline), timeline, playerSeconds > 0);
  }
  drawRegions();
  drawTranscript(transcript);
  markWords();
  drawExports();
  showSummary();
  const elapsed = performance.now() - started;
  page.dataset.renderMs = elapsed.toFixed(1);
  page.dataset.segments = String(segments.length);
}

// ---- the job --------------------------------------------------------------

function showJob(job) {
  state.job = job;
  const status = $("job-status");
  const steps = job.progress ? ` (${job.progress.completedSteps}/${job.progress.totalSteps} steps)` : "";
  const failure = job.error ? `: ${job.error.type}: ${job.error.message}` : "";
  status.textContent = `${job.status}, run ${job.run}${steps}${failure}`;
  page.dataset.jobStatus = job.status;
  page.dataset.jobRun = String(job.run);
  const awaitsReview = job.status === "awaiting-review";
  document.querySelector('[data-command="approve"]').hidden = !awaitsReview;
  const busy = !FINISHED.has(job.status) && !awaitsReview;
  document.querySelector('[data-command="render"]').disabled = busy;
  document.querySelector('[data-command="approve"]').disabled = busy;
  const renders = (job.artifacts && job.artifacts.renders) || [];
  document.querySelector('[data-play="render"]').disabled = renders.length === 0;
}

async function loadPlan() {
  const plan = await api("/plan");
  state.plan = plan;
  state.segments = (plan.segments || []).map((s) => ({
    start: s.start,
    end: s.end,
    action: s.action,
    reason: s.reason || "",
  }));
  state.fps = plan.frameRate || NO_FRAMES;
  state.edited = false;
}

async function setSource(player, artifact) {
  try {
    const link = await api(`/media/${artifact}`);
    player.src = link.url;
    player.dataset.expires = String(Date.now() + link.expiresIn * 1000);
  } catch (error) {
    player.removeAttribute("src");
    if (error.status !== 404) throw error;
  }
}

async function renderDuration() {
  const job = state.job;
  const target = $("render-player");
  if (!job || !job.artifacts || !(job.artifacts.renders || []).length) return;
  await setSource(target, "render");
  target.addEventListener(
    "loadedmetadata",
    () => {
      page.dataset.renderDuration = target.duration.toFixed(3);
    },
    { once: true },
  );
}

async function follow() {
  if (state.following) return;
  state.following = true;
  page.dataset.following = "true";
  try {
    for (;;) {
      const job = await api("");
      showJob(job);
      if (FINISHED.has(job.status) || job.status === "awaiting-review") {
        if (job.status === "completed") say(`Rendered: run ${job.run} completed.`);
        else if (job.status === "failed") say(`Run ${job.run} failed.`, true);
        await loadPlan();
        const [peaks, transcript] = await Promise.all([api("/peaks"), api("/transcript")]);
        if (!$("source-player").getAttribute("src")) await setSource($("source-player"), "source");
        render(peaks, transcript, await mediaDuration($("source-player")));
        delete page.dataset.renderDuration;
        await renderDuration();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_MS));
    }
  } finally {
    state.following = false;
    delete page.dataset.following;
  }
}

async function command(name) {
  say(name === "render" ? "Sending the plan..." : "Approving...");
  try {
    if (name === "render") {
      const segments = state.segments.map(({ start, end, action, reason }) => ({
        start,
        end,
        action,
        reason,
      }));
      await api("/plan", { method: "PUT", body: { segments } });
    } else {
      await api("/plan/approve", { method: "POST" });
    }
    say(name === "render" ? "Rendering the plan..." : "Approved: rendering...");
    state.edited = false;
    await follow();
  } catch (error) {
    say(
      error.status === 409
        ? `Not now: ${error.message}.`
        : `The ${name} was refused: ${error.message}.`,
      true,
    );
  }
}

function play(which) {
  const source = $("source-player");
  const rendered = $("render-player");
  source.hidden = which !== "source";
  rendered.hidden = which !== "render";
  (which === "source" ? rendered : source).pause();
  for (const button of document.querySelectorAll("[data-play]")) {
    button.setAttribute("aria-pressed", String(button.dataset.play === which));
  }
}

function wire() {
  document.querySelector('[data-command="render"]').addEventListener("click", () => command("render"));
  document.querySelector('[data-command="approve"]').addEventListener("click", () => command("approve"));
  for (const button of document.querySelectorAll("[data-play]")) {
    button.addEventListener("click", () => play(button.dataset.play));
  }
  $("transcript").addEventListener("click", (event) => {
    const start = event.target && event.target.dataset ? event.target.dataset.start : undefined;
    if (start === undefined || !state.wavesurfer) return;
    play("source");
    state.wavesurfer.setTime(Number(start));
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const typed = $("token").value.trim();
    if (typed) sessionStorage.setItem(TOKEN_KEY, typed);
    else sessionStorage.removeItem(TOKEN_KEY);
    $("token").value = "";
    location.reload();
  });
  // A link that has expired is asked for again.
  for (const [player, artifact] of [
    [$("source-player"), "source"],
    [$("render-player"), "render"],
  ]) {
    player.addEventListener("error", () => {
      if (Number(player.dataset.expires || 0) < Date.now() + 60_000) setSource(player, artifact);
    });
  }
}

async function start() {
  $("job-id").textContent = jobId;
  if (token()) $("token-form").hidden = false;
  wire();
  let job;
  try {
    job = await api("");
  } catch (error) {
    refuse(error);
    return;
  }
  $("workspace").hidden = false;
  showJob(job);
  try {
    const [, peaks, transcript] = await Promise.all([
      loadPlan(),
      api("/peaks"),
      api("/transcript"),
      setSource($("source-player"), "source"),
    ]);
    render(peaks, transcript, await mediaDuration($("source-player")));
    await renderDuration();
    page.dataset.state = "ready";
  } catch (error) {
    page.dataset.state = "incomplete";
    say(
      error.status === 404
        ? `The job has no plan to review yet (${job.status}): ${error.message}.`
        : `The job could not be loaded: ${error.message}.`,
      true,
    );
  }
  if (!FINISHED.has(job.status) && job.status !== "awaiting-review") follow();
}

start();

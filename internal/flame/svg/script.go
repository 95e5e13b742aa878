package svg

// script draws the frames from FLAMEGEN_DATA. It never measures text: a
// label is cut to the number of characters that fit at a fixed average
// width. Frames are kept in depth-first order, so the frames above a frame
// are the contiguous range up to end[i]; a render visits only the zoomed
// frame's range and skips whole subtrees that are narrower than the minimum
// width (--minwidth, and never less than 0.1 px). Names reach the document
// only through textContent, never as markup.
// The global object flamegen (search, clear, zoom, reset, matched) exists for
// keyboard-free automation.
const script = `(function () {
"use strict";
var D = FLAMEGEN_DATA, NS = "http://www.w3.org/2000/svg", S = 5, F = D.f;
var n = F.length / S, W = D.width, XP = D.xpad, FH = D.fh, CW = D.fs * 0.59;
// A frame under a tenth of a pixel is invisible: never draw one, whatever
// --minwidth kept in the data for zooming.
var DRAWMIN = Math.max(D.minw, 0.1);
// Record i: name F[i*S], depth F[i*S+1], width F[i*S+2], self F[i*S+3],
// dx F[i*S+4]. X, parent and end (one past the last frame above i) are
// derived here once.
var X = new Float64Array(n), parent = new Int32Array(n), end = new Int32Array(n);
var next = new Float64Array(D.maxdepth + 2), st = [];
for (var i = 0; i < n; i++) {
  var d = F[i * S + 1];
  X[i] = next[d] + F[i * S + 4];
  next[d] = X[i] + F[i * S + 2];
  next[d + 1] = X[i];
  while (st.length && F[st[st.length - 1] * S + 1] >= d) end[st.pop()] = i;
  parent[i] = st.length ? st[st.length - 1] : -1;
  st.push(i);
}
while (st.length) end[st.pop()] = n;
var FL = new Uint8Array(n), k;
for (k = 0; k < D.hl.length; k++) FL[D.hl[k]] |= 1;
for (k = 0; k < D.topf.length; k++) FL[D.topf[k]] |= 2;
var NOTE = {};
if (D.fn) for (k = 0; k + 1 < D.fn.length; k += 2) NOTE[D.fn[k]] = D.notes[D.fn[k + 1]];
function el(id) { return document.getElementById(id); }
var frames = el("frames"), details = el("details"), matchedText = el("matched");
var resetBtn = el("reset"), searchBtn = el("search"), clearBtn = el("clear");
var tip = el("tip"), tip1 = el("tip1"), tip2 = el("tip2"), tipRect = tip.firstChild;
var zoomed = 0, matches = null, term = "", matchedPct = 0;
var total = n ? F[2] : 0;

function fmt(v) {
  var u = D.unit;
  if (D.scale) v = v / D.scale;
  if (u === "nanoseconds") {
    if (v >= 1e9) return (v / 1e9).toFixed(2) + " s";
    if (v >= 1e6) return (v / 1e6).toFixed(2) + " ms";
    if (v >= 1e3) return (v / 1e3).toFixed(2) + " \u00b5s";
    return v + " ns";
  }
  if (u === "bytes") {
    if (v >= 1073741824) return (v / 1073741824).toFixed(2) + " GiB";
    if (v >= 1048576) return (v / 1048576).toFixed(2) + " MiB";
    if (v >= 1024) return (v / 1024).toFixed(2) + " KiB";
    return v + " B";
  }
  return String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ",") + " " + u;
}
function pct(v, of) { return of ? (100 * v / of).toFixed(2) + "%" : "0%"; }
function yOf(depth) {
  return D.inverted ? D.top + depth * FH : D.top + (D.maxdepth - depth) * FH;
}
function label(name, w) {
  var fit = Math.floor((w - 6) / CW);
  if (fit < 3) return "";
  if (name.length <= fit) return name;
  // Too long: drop the import path first ("net/http.(*conn).serve" shows
  // as "http.(*conn).serve"), then cut.
  var short = name.substring(name.lastIndexOf("/") + 1);
  if (short.length <= fit) return short;
  return short.substring(0, fit - 2) + "..";
}
function draw(frag, i, x, w, anc) {
  var r = document.createElementNS(NS, "rect");
  var y = yOf(F[i * S + 1]), fl = FL[i];
  r.setAttribute("x", x.toFixed(1));
  r.setAttribute("y", y);
  r.setAttribute("width", Math.max(w - 0.5, 0.1).toFixed(1));
  r.setAttribute("height", FH - 1);
  r.setAttribute("rx", 2);
  r.setAttribute("data-i", i);
  var m = matches && matches[F[i * S]];
  r.setAttribute("fill", m ? "rgb(230,0,230)" : D.colors[D.fc ? D.fc[i] : D.nc[F[i * S]]]);
  var cls = anc ? "anc" : "";
  if (fl & 2) cls += " top"; else if (fl & 1) cls += " hl";
  if (m) cls += " match";
  if (cls) r.setAttribute("class", cls.trim());
  frag.appendChild(r);
  var s = label(D.names[F[i * S]], w);
  if (s) {
    var t = document.createElementNS(NS, "text");
    t.setAttribute("x", (x + 3).toFixed(1));
    t.setAttribute("y", y + FH - 5);
    t.textContent = s;
    frag.appendChild(t);
  }
}
function render() {
  var frag = document.createDocumentFragment();
  if (n) {
    var z = zoomed, x0 = X[z], scale = (W - 2 * XP) / F[z * S + 2];
    for (var a = parent[z]; a >= 0; a = parent[a]) draw(frag, a, XP, W - 2 * XP, true);
    for (var i = z; i < end[z];) {
      var w = F[i * S + 2] * scale;
      if (w < DRAWMIN) { i = end[i]; continue; }
      draw(frag, i, XP + (X[i] - x0) * scale, w, false);
      i++;
    }
  }
  while (frames.firstChild) frames.removeChild(frames.firstChild);
  frames.appendChild(frag);
  resetBtn.style.opacity = zoomed ? 1 : 0;
}
function describe(i) {
  var v = F[i * S + 2], name = D.names[F[i * S]];
  var line = fmt(v) + ", " + pct(v, total) + " of all";
  if (zoomed && i !== zoomed) line += ", " + pct(v, F[zoomed * S + 2]) + " of zoom";
  line += "; self " + fmt(F[i * S + 3]);
  if (D.base) {
    var b = D.base[i], dv = v - b;
    line = "before " + fmt(b) + ", after " + fmt(v) + ", delta " + (dv >= 0 ? "+" : "") + fmt(dv) +
      (b ? " (" + (dv >= 0 ? "+" : "") + (100 * dv / b).toFixed(1) + "%)" : "");
  }
  if (NOTE[i] !== undefined) line += "; " + NOTE[i];
  return [name, line];
}
function frameOf(e) {
  var t = e.target;
  if (!t || !t.getAttribute) return -1;
  var i = t.getAttribute("data-i");
  return i === null ? -1 : +i;
}
frames.addEventListener("mouseover", function (e) {
  var i = frameOf(e);
  if (i < 0) return;
  var s = describe(i);
  details.textContent = s[0] + " (" + s[1] + ")";
  tip1.textContent = s[0];
  tip2.textContent = s[1];
  var w = Math.max(tip1.getComputedTextLength(), tip2.getComputedTextLength()) + 12;
  tipRect.setAttribute("width", w);
  tipRect.setAttribute("height", 40);
  tip.setAttribute("visibility", "visible");
  moveTip(e, w);
});
frames.addEventListener("mousemove", function (e) {
  if (tip.getAttribute("visibility") === "visible") moveTip(e, +tipRect.getAttribute("width"));
});
function moveTip(e, w) {
  var p = svgPoint(e), x = p.x + 12, y = p.y + 12;
  if (x + w > W) x = Math.max(0, p.x - w - 12);
  tip.setAttribute("transform", "translate(" + x.toFixed(0) + "," + y.toFixed(0) + ")");
}
function svgPoint(e) {
  var root = document.documentElement, m = root.getScreenCTM && root.getScreenCTM();
  if (!m) return { x: e.clientX, y: e.clientY };
  var pt = root.createSVGPoint();
  pt.x = e.clientX; pt.y = e.clientY;
  return pt.matrixTransform(m.inverse());
}
frames.addEventListener("mouseout", function () {
  tip.setAttribute("visibility", "hidden");
  details.textContent = " ";
});
frames.addEventListener("click", function (e) {
  var i = frameOf(e);
  if (i >= 0) zoom(i);
});
function zoom(i) {
  if (i < 0 || i >= n) return;
  zoomed = i;
  tip.setAttribute("visibility", "hidden");
  render();
}
function reset() { zoom(0); }
function search(re) {
  var rx;
  try { rx = new RegExp(re); } catch (err) { matchedText.textContent = "bad regular expression"; return -1; }
  term = re;
  matches = new Uint8Array(D.names.length);
  for (var k = 0; k < D.names.length; k++) matches[k] = rx.test(D.names[k]) ? 1 : 0;
  // A match counts once with everything above it, so nested matches
  // (recursion) are not counted twice.
  var sum = 0;
  for (var i = 1; i < n;) {
    if (matches[F[i * S]]) { sum += F[i * S + 2]; i = end[i]; } else i++;
  }
  matchedPct = total ? 100 * sum / total : 0;
  matchedText.textContent = "Matched: " + matchedPct.toFixed(2) + "%";
  clearBtn.style.opacity = 1;
  render();
  return matchedPct;
}
function clear() {
  matches = null; term = ""; matchedPct = 0;
  matchedText.textContent = " ";
  clearBtn.style.opacity = 0;
  render();
}
resetBtn.addEventListener("click", reset);
searchBtn.addEventListener("click", function () {
  var s = prompt("Search frames (regular expression)", term);
  if (s !== null && s !== "") search(s);
});
clearBtn.addEventListener("click", clear);
document.addEventListener("keydown", function (e) {
  if ((e.ctrlKey || e.metaKey) && e.key === "f") { e.preventDefault(); searchBtn.dispatchEvent(new MouseEvent("click")); }
  else if (e.key === "Escape") { if (zoomed) reset(); else clear(); }
});
window.flamegen = {
  search: search, clear: clear, zoom: zoom, reset: reset,
  matched: function () { return matchedPct; },
  zoomed: function () { return zoomed; },
  name: function (i) { return D.names[F[i * S]]; },
  x: function (i) { return X[i]; },
  frames: function () { return n; }
};
render();
})();
`

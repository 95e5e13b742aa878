package svg

// script makes the static graph interactive: the details line on hover,
// click-zoom and search. It leaves the frames Write drew alone until the
// first zoom or search, then redraws from FLAMEGEN_DATA with the same
// markup (draw mirrors appendFrame, fixed mirrors appendFixed, fmt
// mirrors formatScaled), so the full view looks the same before a zoom and
// after a reset. It never measures text: a label is cut to the number of
// characters that fit at a fixed width. Frames are kept in depth-first
// order, so the frames above a frame are the contiguous range up to
// end[i]; a render visits only the zoomed frame's range and skips whole
// subtrees below the cut (--minwidth, and never less than 0.1 px). Names
// reach the document only through textContent, never as markup.
// The global object flamegen (search, clear, zoom, reset, matched, index)
// exists for keyboard-free automation.
const script = `(function () {
"use strict";
var D = FLAMEGEN_DATA, NS = "http://www.w3.org/2000/svg", S = 5, F = D.f;
var n = F.length / S, W = D.width, XP = D.xpad, FH = D.fh, CW = D.cw;
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
  next[d + 1] = X[i] + (D.selffirst ? F[i * S + 3] : 0);
  while (st.length && F[st[st.length - 1] * S + 1] >= d) end[st.pop()] = i;
  parent[i] = st.length ? st[st.length - 1] : -1;
  st.push(i);
}
while (st.length) end[st.pop()] = n;
var FL = new Uint8Array(n), k;
for (k = 0; k < D.hl.length; k++) FL[D.hl[k]] |= 1;
for (k = 0; k < D.topf.length; k++) FL[D.topf[k]] |= 2;
if (D.err) for (k = 0; k < D.err.length; k++) FL[D.err[k]] |= 4;
var NOTE = {};
if (D.fn) for (k = 0; k + 1 < D.fn.length; k += 2) NOTE[D.fn[k]] = D.notes[D.fn[k + 1]];
function el(id) { return document.getElementById(id); }
var frames = el("frames"), details = el("details"), matchedText = el("matched");
var resetBtn = el("reset"), searchBtn = el("search"), clearBtn = el("clear");
var zoomed = 0, matches = null, term = "", matchedPct = 0;
var total = n ? F[2] : 0;
// A frame's group knows its frame (__fi): render's groups from the start,
// the groups Write drew once the first pointer event needs one.
var mapped = false;

// fixed is toFixed(p) for p = 1 or 2 with ties rounded to even, as Go's
// strconv rounds them: a tie is a value whose 2^(p+1) multiple is odd.
function fixed(x, p) {
  var s = x.toFixed(p), m = Math.abs(x) * (p === 1 ? 4 : 8);
  if (m % 2 !== 1) return s;
  var q = (m * (p === 1 ? 5 : 25) + 1) / 2;
  if (q % 2 === 0) return s;
  var t = String(q - 1);
  while (t.length <= p) t = "0" + t;
  return (x < 0 ? "-" : "") + t.substring(0, t.length - p) + "." + t.substring(t.length - p);
}
function group(v) { return String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
function fmt(v) {
  if (v < 0) return "-" + fmt(-v);
  var u = D.unit;
  if (D.scale) {
    // Fractional counts: the decimals the input had (formatScaled).
    var r = v % D.scale, f = String(D.scale + r).substring(1).replace(/0+$/, "");
    return group((v - r) / D.scale) + (f ? "." + f : "") + " " + u;
  }
  if (u === "nanoseconds") {
    if (v >= 1e9) return fixed(v / 1e9, 2) + " s";
    if (v >= 1e6) return fixed(v / 1e6, 2) + " ms";
    if (v >= 1e3) return fixed(v / 1e3, 2) + " \u00b5s";
    return v + " ns";
  }
  if (u === "bytes") {
    if (v >= 1073741824) return fixed(v / 1073741824, 2) + " GiB";
    if (v >= 1048576) return fixed(v / 1048576, 2) + " MiB";
    if (v >= 1024) return fixed(v / 1024, 2) + " KiB";
    return v + " B";
  }
  return group(v) + " " + u;
}
function pct(v, of) { return of ? fixed(100 * v / of, 2) + "%" : "0%"; }
function diffLine(b, v) {
  var dv = v - b, sign = dv >= 0 ? "+" : "";
  return "before " + fmt(b) + ", after " + fmt(v) + ", delta " + sign + fmt(dv) +
    (b ? " (" + sign + fixed(100 * dv / b, 1) + "%)" : "");
}
function title(i) {
  var v = F[i * S + 2];
  var s = D.names[F[i * S]] + " (" + fmt(v) + ", " + (i ? pct(v, total) : "100%") + ")";
  if (D.base) s += "\n" + diffLine(D.base[i], v);
  if (NOTE[i] !== undefined) s += "\n" + NOTE[i];
  return s;
}
function yOf(depth) {
  return D.inverted ? D.top + depth * FH : D.top + (D.maxdepth - depth) * FH;
}
// Labels count characters (code points), as Go counts runes.
var SURROGATE = /[\ud800-\udfff]/;
function chars(s) { return SURROGATE.test(s) ? Array.from(s) : null; }
function label(name, w) {
  var fit = Math.floor((w - 6) / CW);
  if (fit < 3) return "";
  var a = chars(name);
  if ((a ? a.length : name.length) <= fit) return name;
  var short = name.substring(name.lastIndexOf("/") + 1);
  a = chars(short);
  if ((a ? a.length : short.length) <= fit) return short;
  return (a ? a.slice(0, fit - 2).join("") : short.substring(0, fit - 2)) + "..";
}
function draw(frag, i, x, w, anc) {
  var g = document.createElementNS(NS, "g");
  g.__fi = i;
  var tt = document.createElementNS(NS, "title");
  tt.textContent = title(i);
  g.appendChild(tt);
  var r = document.createElementNS(NS, "rect");
  var y = yOf(F[i * S + 1]), fl = FL[i];
  r.setAttribute("x", fixed(x, 1));
  r.setAttribute("y", y);
  r.setAttribute("width", fixed(Math.max(w - 0.5, 0.1), 1));
  r.setAttribute("height", FH - 1);
  r.setAttribute("rx", 2);
  var m = matches && matches[F[i * S]];
  r.setAttribute("fill", m ? "rgb(230,0,230)" : D.colors[D.fc ? D.fc[i] : D.nc[F[i * S]]]);
  var cls = anc ? "anc" : "";
  if (fl & 2) cls += " top"; else if (fl & 1) cls += " hl";
  if (m) cls += " match";
  if (cls) r.setAttribute("class", cls.trim());
  g.appendChild(r);
  if ((fl & 4) && w >= 8) {
    var c = document.createElementNS(NS, "path");
    c.setAttribute("d", "M" + fixed(x, 1) + " " + y + "h6l-6 6z");
    c.setAttribute("fill", "rgb(230,0,0)");
    g.appendChild(c);
  }
  var s = label(D.names[F[i * S]], w);
  if (s) {
    var t = document.createElementNS(NS, "text");
    t.setAttribute("x", fixed(x + 3, 1));
    t.setAttribute("y", y + FH - 5);
    t.textContent = s;
    g.appendChild(t);
  }
  frag.appendChild(g);
}
// visit calls fn(i, x, w) for the frames the view zoomed on z draws, in
// the order Write and render draw them; ancestors of z are not included.
function visit(z, fn) {
  var x0 = X[z], scale = (W - 2 * XP) / F[z * S + 2], minUnits = DRAWMIN / scale;
  for (var i = z; i < end[z];) {
    if (F[i * S + 2] < minUnits) { i = end[i]; continue; }
    fn(i, XP + (X[i] - x0) * scale, F[i * S + 2] * scale);
    i++;
  }
}
function render() {
  var frag = document.createDocumentFragment();
  mapped = true;
  if (n) {
    var z = zoomed;
    for (var a = parent[z]; a >= 0; a = parent[a]) draw(frag, a, XP, W - 2 * XP, true);
    visit(z, function (i, x, w) { draw(frag, i, x, w, false); });
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
  if (D.base) line = diffLine(D.base[i], v);
  if (NOTE[i] !== undefined) line += "; " + NOTE[i];
  return name + " (" + line + ")";
}
// index returns the frame that e, a frame's group or a part of it, draws,
// or -1. The groups Write drew are those of the full view, in order.
function index(e) {
  while (e && e.parentNode !== frames) e = e.parentNode;
  if (!e) return -1;
  if (!mapped) {
    mapped = true;
    var c = frames.children, k = 0;
    if (n) visit(0, function (i) { if (k < c.length) c[k++].__fi = i; });
  }
  return e.__fi === undefined ? -1 : e.__fi;
}
frames.addEventListener("mouseover", function (e) {
  var i = index(e.target);
  if (i >= 0) details.textContent = describe(i);
});
frames.addEventListener("mouseout", function () { details.textContent = " "; });
frames.addEventListener("click", function (e) {
  var i = index(e.target);
  if (i >= 0) zoom(i);
});
function zoom(i) {
  if (i < 0 || i >= n) return;
  zoomed = i;
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
  matchedText.textContent = "Matched: " + fixed(matchedPct, 2) + "%";
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
searchBtn.style.opacity = 1;
document.addEventListener("keydown", function (e) {
  if ((e.ctrlKey || e.metaKey) && e.key === "f") { e.preventDefault(); searchBtn.dispatchEvent(new MouseEvent("click")); }
  else if (e.key === "Escape") { if (zoomed) reset(); else clear(); }
});
window.flamegen = {
  search: search, clear: clear, zoom: zoom, reset: reset, index: index,
  matched: function () { return matchedPct; },
  zoomed: function () { return zoomed; },
  name: function (i) { return D.names[F[i * S]]; },
  depth: function (i) { return F[i * S + 1]; },
  x: function (i) { return X[i]; },
  frames: function () { return n; }
};
})();
`

// The console's pages reload themselves every data-refresh-ms, which the
// server stretches while its pages take long to make; later still when this
// page took long to arrive; and never while hidden in a background tab.
(() => {
	"use strict";
	const every = Number(document.body.dataset.refreshMs || 0);
	const note = document.getElementById("reload");
	if (!every) {
		if (note) note.textContent = "not reloading";
		return;
	}
	const nav = performance.getEntriesByType("navigation")[0];
	const took = nav ? nav.responseEnd - nav.requestStart : 0;
	const delay = Math.max(every, Math.ceil(10 * took));
	if (note) note.textContent = "reloads every " + (delay / 1000).toFixed(1) + " s, not while hidden";
	const due = Date.now() + delay;
	const check = () => {
		if (document.hidden) {
			document.addEventListener("visibilitychange", check, { once: true });
			return;
		}
		const left = due - Date.now();
		if (left > 0) {
			setTimeout(check, left);
			return;
		}
		location.reload();
	};
	setTimeout(check, delay);
})();

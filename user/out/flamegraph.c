// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "model/figs.h"
#include "out/flamegraph.h"
#include "out/json_stacks.h"
#include "out/views.h"

/*
 * The page before its data: style and markup. The script (below) reads the
 * data from the JSON element, merges the stacks of the view shown into a
 * tree by function name (as --folded does) and draws one box per frame.
 */
static const char *const page_head[] = {
	"<!DOCTYPE html>",
	"<html lang=\"en\"><head><meta charset=\"utf-8\">",
	"<meta name=\"viewport\" content=\"width=device-width\">",
	"<title>contrace flame graph</title>",
	"<style>",
	"body{font:13px system-ui,sans-serif;margin:0;color:#222;background:#fff}",
	"header{padding:8px 12px;border-bottom:1px solid #ddd}",
	"h1{font-size:15px;margin:0 0 2px}",
	"#sub,#weighs{color:#555}",
	"nav{margin:6px 0 4px}",
	"nav button{font:inherit;margin-right:4px;padding:2px 10px;border:1px solid #aaa;",
	"background:#f3f3f3;border-radius:3px;cursor:pointer}",
	"nav button.on{background:#333;color:#fff;border-color:#333}",
	"#search{margin-left:10px;width:16em}",
	"#info{padding:4px 12px;min-height:16px;font:12px monospace;white-space:nowrap;",
	"overflow:hidden;text-overflow:ellipsis}",
	"#fg{position:relative;margin:0 12px 12px}",
	".fr{position:absolute;height:17px;line-height:17px;font:11px monospace;overflow:hidden;",
	"white-space:nowrap;text-overflow:ellipsis;padding:0 2px;box-sizing:border-box;",
	"border-right:1px solid #fff;cursor:pointer}",
	".fr.dim{opacity:.5}",
	".fr.hit{background:#d03cd0 !important;color:#fff}",
	".empty{color:#666;padding:12px 0}",
	"#lost{margin:0 12px 12px;color:#7a4300;font-size:12px}",
	"#lost ul{margin:2px 0;padding-left:18px}",
	"</style></head><body>",
	"<header><h1 id=\"title\"></h1><div id=\"sub\"></div>",
	"<nav><span id=\"tabs\"></span><input id=\"search\" type=\"search\" ",
	"placeholder=\"search functions\"> <button id=\"reset\">reset zoom</button></nav>",
	"<div id=\"weighs\"></div></header>",
	"<div id=\"info\"></div><div id=\"fg\"></div><div id=\"lost\"></div>",
	"<script id=\"data\" type=\"application/json\">",
	NULL,
};

static const char *const page_tail[] = {
	"</script>",
	"<script>",
	"\"use strict\";",
	"const D = JSON.parse(document.getElementById(\"data\").textContent);",
	"const ROW = 18;",
	"const $ = (id) => document.getElementById(id);",
	"let cur = 0, root = null, zoom = null, query = \"\";",
	"",
	"function fmt(ns) {",
	"  if (ns >= 1e9) return (ns / 1e9).toFixed(2) + \" s\";",
	"  if (ns >= 1e6) return (ns / 1e6).toFixed(1) + \" ms\";",
	"  if (ns >= 1e3) return (ns / 1e3).toFixed(1) + \" us\";",
	"  return ns + \" ns\";",
	"}",
	"const pct = (a, b) => (b ? (100 * a / b).toFixed(1) : \"0\") + \"%\";",
	"const total = (v) => D.samples.reduce((t, s) => t + (s.view === v ? s.ns : 0), 0);",
	"",
	"/* The view's stacks merged into a tree, root first, the object last. */",
	"function build(v) {",
	"  const top = { name: \"all\", ns: 0, n: 0, kids: new Map(), parent: null, depth: 0 };",
	"  for (const s of D.samples) {",
	"    if (s.view !== v) continue;",
	"    const path = [s.proc];",
	"    if (s.first) path.push(s.first);",
	"    const st = s.stack === null ? null : D.stacks.stacks[s.stack];",
	"    if (!st) path.push(\"[no stack]\");",
	"    else if (st.partial) path.push(\"[partial]\");",
	"    for (let i = st ? st.frames.length - 1 : -1; i >= 0; i--)",
	"      path.push(D.stacks.frames[st.frames[i]].function);",
	"    path.push(\"[\" + s.what + \" \" + s.object + \"]\");",
	"    let node = top;",
	"    top.ns += s.ns;",
	"    top.n += s.count;",
	"    for (const name of path) {",
	"      let k = node.kids.get(name);",
	"      if (!k) {",
	"        k = { name, ns: 0, n: 0, kids: new Map(), parent: node, depth: node.depth + 1 };",
	"        node.kids.set(name, k);",
	"      }",
	"      k.ns += s.ns;",
	"      k.n += s.count;",
	"      node = k;",
	"    }",
	"  }",
	"  return top;",
	"}",
	"",
	"function hash(s) {",
	"  let h = 2166136261;",
	"  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);",
	"  return (h >>> 0) / 4294967296;",
	"}",
	"",
	"/* Grey: all, processes; blue: what was waited for; yellow-green: Python; red-orange: native. */",
	"function color(n) {",
	"  const r = hash(n.name);",
	"  if (n.depth <= 1) return \"hsl(0,0%,\" + (84 - 8 * n.depth) + \"%)\";",
	"  if (n.name.startsWith(\"[\")) return \"hsl(210,40%,\" + Math.round(70 + 12 * r) + \"%)\";",
	"  if (/ \\(.+:\\d+\\)$/.test(n.name))",
	"    return \"hsl(\" + Math.round(50 + 40 * r) + \",65%,\" + Math.round(50 + 12 * r) + \"%)\";",
	"  return \"hsl(\" + Math.round(40 * r) + \",80%,\" + Math.round(56 + 12 * r) + \"%)\";",
	"}",
	"",
	"function describe(n) {",
	"  const v = D.views[cur];",
	"  return n.name + \": \" + fmt(n.ns) + \", \" + pct(n.ns, root.ns) + \" of \" + v.title +",
	"    \", \" + n.n + \" \" + v.counts;",
	"}",
	"",
	"/* The time of the frames matching the search, nested matches counted once. */",
	"function matched(n, q) {",
	"  if (n.name.toLowerCase().includes(q)) return n.ns;",
	"  let t = 0;",
	"  for (const k of n.kids.values()) t += matched(k, q);",
	"  return t;",
	"}",
	"",
	"function box(fg, n, x, w, width, cls) {",
	"  const d = document.createElement(\"div\");",
	"  d.className = \"fr\" + cls;",
	"  d.style.left = 100 * x + \"%\";",
	"  d.style.width = 100 * w + \"%\";",
	"  d.style.top = n.depth * ROW + \"px\";",
	"  d.style.background = color(n);",
	"  if (w * width >= 24) d.textContent = n.name;",
	"  d.title = describe(n);",
	"  d.dataset.name = n.name;",
	"  d.dataset.ns = n.ns;",
	"  d.dataset.depth = n.depth;",
	"  d.onclick = () => { zoom = n === root ? null : n; draw(); };",
	"  d.onmouseenter = () => { $(\"info\").textContent = describe(n); };",
	"  fg.appendChild(d);",
	"}",
	"",
	"function draw() {",
	"  const fg = $(\"fg\"), z = zoom || root, width = fg.clientWidth || 1000;",
	"  const q = query.toLowerCase();",
	"  let depth = 0;",
	"  fg.textContent = \"\";",
	"  if (!root.ns) {",
	"    const p = document.createElement(\"p\");",
	"    p.className = \"empty\";",
	"    p.textContent = \"No stacks in this view.\";",
	"    fg.appendChild(p);",
	"    fg.style.height = \"\";",
	"    return;",
	"  }",
	"  for (let a = z.parent; a; a = a.parent) box(fg, a, 0, 1, width, \" dim\");",
	"  const walk = (n, x) => {",
	"    const w = n.ns / z.ns;",
	"    if (w * width < 0.5) return;",
	"    box(fg, n, x, w, width, q && n.name.toLowerCase().includes(q) ? \" hit\" : \"\");",
	"    depth = Math.max(depth, n.depth);",
	"    const kids = [...n.kids.values()].sort((a, b) => b.ns - a.ns || (a.name < b.name ? -1 : 1));",
	"    for (const k of kids) {",
	"      walk(k, x);",
	"      x += k.ns / z.ns;",
	"    }",
	"  };",
	"  walk(z, 0);",
	"  fg.style.height = (depth + 1) * ROW + \"px\";",
	"  if (q) {",
	"    const t = matched(z, q);",
	"    $(\"info\").textContent = \"search: \" + fmt(t) + \", \" + pct(t, z.ns) + \" of \" +",
	"      (zoom ? \"the frame zoomed into\" : D.views[cur].title);",
	"  }",
	"}",
	"",
	"/* The view the address names (#waits, #gil, #oncpu), else the first with stacks. */",
	"function pick() {",
	"  let i = D.views.findIndex((v) => \"#\" + v.key === location.hash);",
	"  if (i < 0) i = Math.max(0, D.views.findIndex((v, j) => total(j) > 0));",
	"  cur = i;",
	"  root = build(i);",
	"  zoom = null;",
	"  for (const b of $(\"tabs\").children) b.classList.toggle(\"on\", b.dataset.view === D.views[i].key);",
	"  $(\"weighs\").textContent = D.views[i].weighs + \": \" + fmt(root.ns) + \", \" + root.n + \" \" +",
	"    D.views[i].counts + \". Click a frame to zoom, Escape to zoom out.\";",
	"  $(\"info\").textContent = \"\";",
	"  draw();",
	"}",
	"",
	"$(\"title\").textContent = D.title;",
	"$(\"sub\").textContent = D.sub;",
	"D.views.forEach((v, i) => {",
	"  const b = document.createElement(\"button\");",
	"  b.textContent = v.title + \" \" + fmt(total(i));",
	"  b.dataset.view = v.key;",
	"  b.onclick = () => { location.hash = v.key; };",
	"  $(\"tabs\").appendChild(b);",
	"});",
	"if (D.lost.length) {",
	"  const ul = document.createElement(\"ul\");",
	"  $(\"lost\").textContent = \"Lost while tracing (the report's drops):\";",
	"  for (const l of D.lost) {",
	"    const li = document.createElement(\"li\");",
	"    li.textContent = l.count + \" \" + l.name + \": \" + l.text;",
	"    ul.appendChild(li);",
	"  }",
	"  $(\"lost\").appendChild(ul);",
	"}",
	"$(\"search\").oninput = (e) => { query = e.target.value; draw(); };",
	"$(\"reset\").onclick = () => { zoom = null; draw(); };",
	"document.addEventListener(\"keydown\", (e) => {",
	"  if (e.key === \"Escape\") { zoom = null; draw(); }",
	"});",
	"window.addEventListener(\"hashchange\", pick);",
	"window.addEventListener(\"resize\", draw);",
	"pick();",
	"</script>",
	"</body></html>",
	NULL,
};

static void put_lines(FILE *f, const char *const *lines)
{
	for (; *lines; lines++) {
		fputs(*lines, f);
		fputc('\n', f);
	}
}

/*
 * JSON inside a <script> element: no '<', '>' or '&' as such (no "</script>"
 * or "<!--" can end or change it). They occur only inside strings, where
 * their \u escapes mean the same to JSON.parse.
 */
static void put_script_json(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<' || *s == '>' || *s == '&')
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('\n', f);
}

static void put(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

/* What the page's samples hold: one object per view stack. */
struct fg_ctx {
	struct json_object *samples;
	const struct jstacks *js;
};

static int add_sample(void *ctx, const struct view_stack *v)
{
	struct fg_ctx *c = ctx;
	struct json_object *s = json_object_new_object();
	int64_t k = jstacks_find(c->js, v->st);
	char proc[CT_COMM_LEN + 16];

	put(s, "view", json_object_new_int(v->view));
	put(s, "proc", json_object_new_string(view_proc(v, proc, sizeof(proc))));
	put(s, "first", v->first ? json_object_new_string(v->first) : NULL);
	put(s, "what", json_object_new_string(v->what));
	put(s, "object", json_object_new_string(v->object));
	put(s, "ns", json_object_new_int64((int64_t)v->st->wait_ns));
	put(s, "count", json_object_new_int64((int64_t)v->st->waits));
	put(s, "stack", k >= 0 ? json_object_new_int64(k) : NULL);
	return json_object_array_add(c->samples, s) ? -ENOMEM : 0;
}

static struct json_object *views_json(void)
{
	struct json_object *a = json_object_new_array();

	for (int i = 0; i < VIEW_COUNT; i++) {
		struct json_object *v = json_object_new_object();

		put(v, "key", json_object_new_string(view_descs[i].key));
		put(v, "title", json_object_new_string(view_descs[i].title));
		put(v, "weighs", json_object_new_string(view_descs[i].weighs));
		put(v, "counts", json_object_new_string(view_descs[i].counts));
		json_object_array_add(a, v);
	}
	return a;
}

/* Every loss of the trace, not only the stacks': a figure short is worth knowing here too. */
static struct json_object *lost_json(const struct report *r)
{
	struct json_object *a = json_object_new_array();

	for (int i = 0; i < DROP_COUNT; i++) {
		uint64_t n = rpt_drop_get(&r->drops, (enum drop_id)i);
		struct json_object *l;

		if (!n)
			continue;
		l = json_object_new_object();
		put(l, "name", json_object_new_string(drop_table[i].json));
		put(l, "count", json_object_new_int64((int64_t)n));
		put(l, "text", json_object_new_string(drop_table[i].text));
		json_object_array_add(a, l);
	}
	return a;
}

static void titles(struct json_object *doc, const struct report *r)
{
	const struct report_meta *m = r->meta;
	char title[1200], sub[400];

	if (m->command[0])
		snprintf(title, sizeof(title), "contrace: %s", m->command);
	else if (r->nprocs)
		snprintf(title, sizeof(title), "contrace: %s (pid %u)", r->procs[0].comm,
			 r->procs[0].pid);
	else
		snprintf(title, sizeof(title), "contrace: pid %d", m->target_pid);
	snprintf(sub, sizeof(sub), "%.3f s traced on %s (Linux %s, %d CPUs), contrace %s",
		 (double)r->duration_ns / 1e9, m->hostname, m->kernel, m->ncpus, m->version);
	put(doc, "title", json_object_new_string(title));
	put(doc, "sub", json_object_new_string(sub));
}

int report_flamegraph(FILE *f, const struct report *r)
{
	struct json_object *doc;
	struct jstacks js;
	struct fg_ctx c;
	const char *s;
	int ret;

	if (jstacks_build(&js, r))
		return -ENOMEM;
	doc = json_object_new_object();
	c.samples = json_object_new_array();
	c.js = &js;
	titles(doc, r);
	put(doc, "views", views_json());
	ret = each_view_stack(r, add_sample, &c);
	put(doc, "samples", c.samples);
	put(doc, "stacks", jstacks_json(&js));
	put(doc, "lost", lost_json(r));
	s = ret ? NULL : json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	if (s) {
		put_lines(f, page_head);
		put_script_json(f, s);
		put_lines(f, page_tail);
	}
	json_object_put(doc);
	jstacks_free(&js);
	if (!s)
		return -ENOMEM;
	return fflush(f) || ferror(f) ? -EIO : 0;
}

// segmint report: builds every section, chart and table view from the inlined data
// (<script id="segmint-data">) with ECharts. Nothing is fetched.
//
// Each chart's container has data-chart="<kind>:<name>" and gets data-rendered="true" once
// ECharts has drawn it; <html data-ready="true"> once every chart has — for people
// automating the page (the tests wait on it).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("segmint-data").textContent);
  var main = document.getElementById("report");
  var toc = document.getElementById("toc");
  main.textContent = "";
  var pending = [];
  var instances = [];

  var COLORS = ["#2f6fde", "#e8833a", "#3aa57a", "#c2425c", "#8a63d2", "#d4a72c", "#3a9fbf", "#7b8794"];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") {
      return Number.isInteger(v) ? v.toLocaleString("en") : v.toFixed(4);
    }
    return String(v);
  }

  function pct(v) { return v === null || v === undefined ? "–" : (100 * v).toFixed(2) + "%"; }
  function pp(v) { return (v >= 0 ? "+" : "") + (100 * v).toFixed(2) + " pp"; }

  function section(id, title, note) {
    main.appendChild(el("h2", { id: id, text: title }));
    toc.appendChild(el("a", { href: "#" + id, text: title }));
    if (note) main.appendChild(el("p", { className: "note", text: note }));
    var grid = el("div", { className: "grid" });
    main.appendChild(grid);
    return grid;
  }

  function card(parent, title, description, badge) {
    var heading = el("h3", { text: title });
    if (badge) heading.appendChild(el("span", { className: "badge", text: badge }));
    var c = el("div", { className: "card" }, [heading]);
    if (description) c.appendChild(el("p", { className: "description", text: description }));
    parent.appendChild(c);
    return c;
  }

  // A table view of a chart's numbers, folded under it.
  function tableView(columns, rows) {
    var head = el("tr", {}, columns.map(function (c) { return el("th", { text: c }); }));
    var body = rows.map(function (r) {
      return el("tr", {}, r.map(function (v) { return el("td", { text: typeof v === "string" ? v : fmt(v) }); }));
    });
    var table = el("table", {}, [el("thead", {}, [head]), el("tbody", {}, body)]);
    return el("details", {}, [el("summary", { text: "Table" }), el("div", { className: "scroll" }, [table])]);
  }

  function chart(parent, id, option, size, table) {
    var div = el("div", { className: "chart" + (size ? " " + size : ""), "data-chart": id, role: "img", "aria-label": option.title && option.title.text || id });
    if (size && size.indexOf("px") > 0) { div.className = "chart"; div.style.height = size; }
    parent.appendChild(div);
    if (table) parent.appendChild(tableView(table.columns, table.rows));
    option.animation = false;
    option.color = option.color || COLORS;
    pending.push({ div: div, option: option });
  }

  function axisOption(title, yName) {
    return {
      title: { text: title, left: 0, textStyle: { fontSize: 13 } },
      tooltip: { trigger: "axis" },
      legend: { top: 0, right: 0 },
      grid: { left: 64, right: 56, top: 40, bottom: 44 },
      xAxis: { type: "category", name: "as of", nameLocation: "middle", nameGap: 28, data: data.days },
      yAxis: [{ type: "value", name: yName, nameLocation: "middle", nameGap: 48 }]
    };
  }

  // Overview: every segment's size on the last day.
  (function overview() {
    var grid = section("overview", "Overview", "Members of each segment as of " + data.to + ", largest first.");
    var last = data.days.length - 1;
    var rows = data.segments.map(function (s) { return [s.name, s.size[last]]; })
      .filter(function (r) { return r[1] !== null; })
      .sort(function (a, b) { return b[1] - a[1]; });
    var c = card(grid, "Segment sizes", null);
    c.style.gridColumn = "1 / -1";
    chart(c, "overview:sizes", {
      title: { text: "Members as of " + data.to, left: 0, textStyle: { fontSize: 13 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 200, right: 40, top: 36, bottom: 40 },
      xAxis: { type: "value", name: "members", nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "category", inverse: true, data: rows.map(function (r) { return r[0]; }) },
      series: [{ type: "bar", name: "members", data: rows.map(function (r) { return r[1]; }) }]
    }, Math.max(220, 22 * rows.length + 80) + "px", { columns: ["segment", "members"], rows: rows });
  })();

  // Per segment: size over time with the day's entries and exits; tiers stacked.
  (function segments() {
    var grid = section("segments", "Segments over time", "Size per committed as-of (left axis) with members who entered and exited since the previous as-of (right axis).");
    data.segments.forEach(function (s) {
      var badge = s.holdout_share ? "holdout " + Math.round(100 * s.holdout_share) + "%" : null;
      var c = card(grid, s.name, s.description, badge);
      var option = axisOption("Size, entered and exited", "members");
      option.yAxis.push({ type: "value", name: "per day", nameLocation: "middle", nameGap: 40, splitLine: { show: false } });
      option.series = [
        { type: "line", name: "size", data: s.size, showSymbol: data.days.length < 40 },
        { type: "bar", name: "entered", yAxisIndex: 1, data: s.entered, itemStyle: { color: "#3aa57a" } },
        { type: "bar", name: "exited", yAxisIndex: 1, data: s.exited, itemStyle: { color: "#c2425c" } }
      ];
      var columns = ["as of", "size", "entered", "exited"];
      if (s.holdout_share) {
        option.series.push({ type: "line", name: "holdout", data: s.holdout, lineStyle: { type: "dashed" }, showSymbol: false });
        columns.push("holdout");
      }
      chart(c, "size:" + s.name, option, null, {
        columns: columns,
        rows: data.days.map(function (d, i) {
          var r = [d, s.size[i], s.entered[i], s.exited[i]];
          if (s.holdout_share) r.push(s.holdout[i]);
          return r;
        })
      });
      if (s.tiers) {
        var tiers = axisOption("Tiers", "members");
        tiers.series = s.tiers.names.map(function (t, i) {
          return { type: "line", name: t, stack: "tiers", areaStyle: {}, showSymbol: false, data: s.tiers.sizes[i] };
        });
        chart(c, "tiers:" + s.name, tiers, null, {
          columns: ["as of"].concat(s.tiers.names),
          rows: data.days.map(function (d, i) { return [d].concat(s.tiers.sizes.map(function (t) { return t[i]; })); })
        });
      }
    });
  })();

  // Flows between tiers from the first to the last as-of.
  (function flows() {
    if (!data.flows.length) return;
    var grid = section("flows", "Flows between tiers", "Members of each tier on " + data.from + " and where they are on " + data.to + ".");
    data.flows.forEach(function (f) {
      var c = card(grid, f.segment, null);
      var nodes = [], links = [];
      f.tiers.forEach(function (t) {
        nodes.push({ name: f.from + " · " + t });
        nodes.push({ name: f.to + " · " + t });
      });
      f.matrix.forEach(function (row, i) {
        row.forEach(function (v, j) {
          if (v > 0) links.push({ source: f.from + " · " + f.tiers[i], target: f.to + " · " + f.tiers[j], value: v });
        });
      });
      var used = {};
      links.forEach(function (l) { used[l.source] = used[l.target] = true; });
      chart(c, "flow:" + f.segment, {
        title: { text: f.from + " → " + f.to, left: 0, textStyle: { fontSize: 13 } },
        tooltip: { trigger: "item" },
        series: [{
          type: "sankey", top: 36, bottom: 10, left: 10, right: 110, nodeGap: 10,
          label: { formatter: function (p) { return p.name.split(" · ")[1]; } },
          emphasis: { focus: "adjacency" },
          data: nodes.filter(function (n) { return used[n.name]; }),
          links: links
        }]
      }, "tall", {
        columns: ["from \\ to"].concat(f.tiers),
        rows: f.tiers.map(function (t, i) { return [t].concat(f.matrix[i]); })
      });
    });
  })();

  // Overlaps on one day: a Jaccard heatmap.
  (function overlap() {
    var o = data.overlap;
    if (!o) return;
    var grid = section("overlaps", "Overlaps", "Jaccard index |A ∩ B| / |A ∪ B| of every pair of segments as of " + o.date + "; hover for shared members.");
    var c = card(grid, "Segment overlap", null);
    c.style.gridColumn = "1 / -1";
    var cells = [];
    var pairs = [];
    o.segments.forEach(function (a, i) {
      o.segments.forEach(function (b, j) {
        cells.push([j, i, Math.round(1000 * o.jaccard[i][j]) / 1000, o.shared[i][j]]);
        if (j > i) pairs.push([a, b, o.shared[i][j], o.jaccard[i][j]]);
      });
    });
    pairs.sort(function (x, y) { return y[3] - x[3]; });
    var n = o.segments.length;
    chart(c, "overlap:" + o.date, {
      title: { text: "Jaccard index as of " + o.date, left: 0, textStyle: { fontSize: 13 } },
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          return o.segments[p.value[1]] + " × " + o.segments[p.value[0]] + "<br>Jaccard " + p.value[2] + " · shared " + fmt(p.value[3]);
        }
      },
      grid: { left: 200, right: 90, top: 40, bottom: 180 },
      xAxis: { type: "category", data: o.segments, axisLabel: { rotate: 60 } },
      yAxis: { type: "category", data: o.segments, inverse: true },
      visualMap: { dimension: 2, min: 0, max: 1, calculable: true, text: ["Jaccard 1", "0"], orient: "vertical", right: 0, top: "middle", inRange: { color: ["#f5f7fa", "#2f6fde"] } },
      series: [{ type: "heatmap", name: "Jaccard", data: cells }]
    }, Math.max(320, 18 * n + 230) + "px", {
      columns: ["segment A", "segment B", "shared members", "Jaccard"],
      rows: pairs
    });
  })();

  // Holdout impact: saved `segmint impact --save` results.
  (function impact() {
    var grid = section("impact", "Impact", data.impact.length
      ? "Treated against held-out entrants, on a goal within N days after entry (segmint impact --save). Intervals are 95%."
      : "No saved impact results for these segments: `segmint impact SEGMENT --goal '{event: purchase}' --days 7 --save` adds one.");
    if (!data.impact.length) return;
    var labels = [], lows = [], spans = [], estimates = [], rows = [];
    data.impact.forEach(function (saved, k) {
      var r = saved.report, c = r.conversion;
      var label = r.segment + " · " + r.goal.replace(/^performed:\s*/, "") + " · " + r.days + "d";
      var box = card(grid, r.segment, r.goal + " within " + r.days + " days (computed " + saved.computed_at.slice(0, 16).replace("T", " ") + ")");
      if (!c) {
        box.appendChild(el("p", { className: "note", text: r.note || "no comparison" }));
        return;
      }
      labels.push(label);
      lows.push(c.absolute_lift.low);
      spans.push(c.absolute_lift.high - c.absolute_lift.low);
      estimates.push(c.absolute_lift.estimate);
      var summary = "Lift " + pp(c.absolute_lift.estimate) + " [" + pp(c.absolute_lift.low) + ", " + pp(c.absolute_lift.high) + "], p " +
        (c.p_value < 0.0001 ? "< 0.0001" : "= " + c.p_value.toFixed(4)) +
        (c.mde_absolute ? ", detectable " + (100 * c.mde_absolute).toFixed(2) + " pp" : "");
      box.appendChild(el("p", { className: "description", text: summary }));
      chart(box, "impact:" + k, {
        title: { text: "Conversion rate", left: 0, textStyle: { fontSize: 13 } },
        tooltip: { trigger: "axis", valueFormatter: function (v) { return pct(v); } },
        grid: { left: 64, right: 20, top: 40, bottom: 40 },
        xAxis: { type: "category", name: "group", nameLocation: "middle", nameGap: 26, data: ["treated (" + fmt(c.treated.entrants) + ")", "holdout (" + fmt(c.holdout.entrants) + ")"] },
        yAxis: { type: "value", name: "rate", nameLocation: "middle", nameGap: 48, axisLabel: { formatter: function (v) { return (100 * v).toFixed(0) + "%"; } } },
        series: [{ type: "bar", name: "conversion rate", data: [c.treated.rate, c.holdout.rate], label: { show: true, position: "top", formatter: function (p) { return pct(p.value); } } }]
      }, "small", {
        columns: ["group", "entrants", "converted", "rate"],
        rows: [["treated", c.treated.entrants, c.treated.converted, pct(c.treated.rate)], ["holdout", c.holdout.entrants, c.holdout.converted, pct(c.holdout.rate)]]
      });
      rows.push([label, pp(c.absolute_lift.estimate), pp(c.absolute_lift.low), pp(c.absolute_lift.high), c.p_value < 0.0001 ? "< 0.0001" : c.p_value.toFixed(4)]);
    });
    if (!labels.length) return;
    var all = card(grid, "Absolute lift with 95% intervals", null);
    all.style.gridColumn = "1 / -1";
    chart(all, "impact:lift", {
      title: { text: "Absolute lift (treated − holdout)", left: 0, textStyle: { fontSize: 13 } },
      tooltip: {
        trigger: "axis", axisPointer: { type: "shadow" },
        formatter: function (ps) {
          var i = labels.indexOf(ps[0].axisValue);
          return labels[i] + "<br>" + pp(estimates[i]) + " [" + pp(lows[i]) + ", " + pp(lows[i] + spans[i]) + "]";
        }
      },
      grid: { left: 260, right: 40, top: 40, bottom: 44 },
      xAxis: { type: "value", name: "lift (share of entrants)", nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "category", data: labels, inverse: true },
      // One horizontal segment per result for its interval, a diamond at the estimate.
      series: labels.map(function (label, i) {
        return {
          type: "line", name: "95% interval", symbol: "none", silent: true,
          lineStyle: { width: 10, color: "rgba(47,111,222,0.40)" },
          data: [[lows[i], label], [lows[i] + spans[i], label]]
        };
      }).concat([{
        type: "line", name: "estimate", lineStyle: { width: 0 }, symbol: "diamond", symbolSize: 12,
        itemStyle: { color: "#1f2933" },
        data: estimates.map(function (e, i) { return [e, labels[i]]; })
      }])
    }, Math.max(180, 40 * labels.length + 100) + "px", { columns: ["result", "lift", "low", "high", "p-value"], rows: rows });
  })();

  // Propensity models: the latest training of each (segmint train).
  (function models() {
    var models = (data.fits && data.fits.models) || [];
    if (!models.length) return;
    var grid = section("models", "Models", "The latest training of each propensity model: AUC beside recency alone on the same people (held out of fitting, and one horizon later when the lake reached it), and calibration by score decile.");
    models.forEach(function (m) {
      var c = card(grid, m.model, "version " + m.version + ", trained as of " + m.as_of + " on " + fmt(m.train_entities) + " entities (" + fmt(m.train_positives) + " positive)");
      var evals = [["held-out", m.test]];
      if (m.out_of_time) evals.push(["out of time", m.out_of_time]);
      var r3 = function (v) { return v === null || v === undefined ? null : Math.round(1000 * v) / 1000; };
      chart(c, "model:" + m.model, {
        title: { text: "AUC: model vs recency alone", left: 0, textStyle: { fontSize: 13 } },
        tooltip: { trigger: "axis" },
        legend: { top: 0, right: 0 },
        grid: { left: 56, right: 20, top: 40, bottom: 40 },
        xAxis: { type: "category", name: "evaluation", nameLocation: "middle", nameGap: 26, data: evals.map(function (e) { return e[0]; }) },
        yAxis: { type: "value", name: "AUC", nameLocation: "middle", nameGap: 40, min: 0.5, max: 1 },
        series: [
          { type: "bar", name: "model", data: evals.map(function (e) { return r3(e[1].auc); }), label: { show: true, position: "top" } },
          { type: "bar", name: "recency alone", data: evals.map(function (e) { return r3(e[1].recency_auc); }), label: { show: true, position: "top" } }
        ]
      }, "small", {
        columns: ["evaluation", "features as of", "labels until", "entities", "positives", "AUC", "recency AUC", "top-decile lift"],
        rows: evals.map(function (e) {
          var v = e[1];
          return [e[0], v.features_as_of, v.labels_until, v.entities, v.positives, r3(v.auc), r3(v.recency_auc), r3(v.lift_top_decile)];
        })
      });
      var bins = m.test.calibration || [];
      chart(c, "calibration:" + m.model, {
        title: { text: "Calibration (held-out, by score decile)", left: 0, textStyle: { fontSize: 13 } },
        tooltip: { trigger: "axis", valueFormatter: function (v) { return pct(v); } },
        legend: { top: 0, right: 0 },
        grid: { left: 56, right: 20, top: 40, bottom: 40 },
        xAxis: { type: "category", name: "score decile", nameLocation: "middle", nameGap: 26, data: bins.map(function (b, i) { return String(i + 1); }) },
        yAxis: { type: "value", name: "rate", nameLocation: "middle", nameGap: 40, axisLabel: { formatter: function (v) { return (100 * v).toFixed(0) + "%"; } } },
        series: [
          { type: "line", name: "predicted", data: bins.map(function (b) { return b.mean_probability; }) },
          { type: "line", name: "observed", data: bins.map(function (b) { return b.observed_rate; }) }
        ]
      }, "small", {
        columns: ["decile", "entities", "predicted", "observed"],
        rows: bins.map(function (b, i) { return [i + 1, b.entities, pct(b.mean_probability), pct(b.observed_rate)]; })
      });
    });
  })();

  // Archetypes: the latest fit of each set (segmint archetypes fit).
  (function archetypes() {
    var sets = (data.fits && data.fits.archetypes) || [];
    if (!sets.length) return;
    var grid = section("archetypes", "Archetypes", "The latest fit of each archetype set: sizes, and how far each archetype's centre is from everyone on each feature (in standard deviations; hover for the values in the feature's units).");
    sets.forEach(function (set) {
      var c = card(grid, set.set, "version " + set.version + ", fitted as of " + set.as_of + " on " + fmt(set.entities) + " entities: k = " + set.k + ", silhouette " + set.silhouette.toFixed(3));
      c.style.gridColumn = "1 / -1";
      var names = set.archetypes.map(function (a) { return a.name + " (" + (100 * a.share).toFixed(1) + "%)"; });
      var inputs = set.archetypes[0].traits.map(function (t) { return t.input; }).sort();
      var cells = [];
      set.archetypes.forEach(function (a, i) {
        a.traits.forEach(function (t) {
          var z = Math.max(-3, Math.min(3, t.z));
          cells.push([inputs.indexOf(t.input), i, Math.round(100 * z) / 100, t.typical, t.average]);
        });
      });
      chart(c, "archetypes:" + set.set, {
        title: { text: "Archetype profiles (z-score of the centre)", left: 0, textStyle: { fontSize: 13 } },
        tooltip: {
          trigger: "item",
          formatter: function (p) {
            return names[p.value[1]] + " · " + inputs[p.value[0]] + "<br>z " + p.value[2] + " · typical " + fmt(p.value[3]) + " vs " + fmt(p.value[4]) + " overall";
          }
        },
        grid: { left: 170, right: 90, top: 40, bottom: 150 },
        xAxis: { type: "category", name: "feature", data: inputs, axisLabel: { rotate: 40 } },
        yAxis: { type: "category", name: "archetype", data: names, inverse: true },
        visualMap: { dimension: 2, min: -3, max: 3, calculable: true, text: ["+3 sd", "−3 sd"], orient: "vertical", right: 0, top: "middle", inRange: { color: ["#c2425c", "#f5f7fa", "#2f6fde"] } },
        series: [{ type: "heatmap", name: "z", data: cells }]
      }, Math.max(320, 34 * names.length + 200) + "px", {
        columns: ["archetype", "members", "share", "what sets it apart"],
        rows: set.archetypes.map(function (a) { return [a.name, a.size, pct(a.share), a.summary]; })
      });
    });
  })();

  // Draw everything, then say so.
  document.documentElement.dataset.charts = String(pending.length);
  var drawn = 0;
  pending.forEach(function (p) {
    var instance = echarts.init(p.div, null, { renderer: "svg" });
    instances.push(instance);
    instance.on("finished", function () {
      if (p.div.dataset.rendered) return;
      p.div.dataset.rendered = "true";
      drawn += 1;
      if (drawn === pending.length) document.documentElement.dataset.ready = "true";
    });
    instance.setOption(p.option);
  });
  if (!pending.length) document.documentElement.dataset.ready = "true";
  window.addEventListener("resize", function () { instances.forEach(function (i) { i.resize(); }); });
})();

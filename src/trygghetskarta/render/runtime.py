"""The maps' shared script, written once into each page's head (see
:func:`trygghetskarta.render.legend.ensure_runtime`).

Part of :mod:`trygghetskarta.render`: ``TK.timeline`` (the month slider's position, which
every time-dependent layer follows), ``TK.legend`` (the one legend panel: a section per
layer that is on), ``TK.exclusive`` (a group of layers shown one at a time) and
``TK.bindToLayer``. Plain Leaflet, no library; it holds no data (data reaches the page
through :func:`~trygghetskarta.render.format.js_json`).
"""

from __future__ import annotations

__all__ = ["RUNTIME_JS"]

#: The maps' shared script: the month slider's timeline, the one legend panel and the
#: groups of layers of which only one is shown at a time (see :func:`add_styles`).
RUNTIME_JS = """
window.TK = window.TK || (function () {
  var timelines = {}, panels = {};
  function Timeline() { this.index = 0; this.fns = []; }
  Timeline.prototype.on = function (fn) { this.fns.push(fn); fn(this.index); };
  Timeline.prototype.set = function (i) {
    this.index = i;
    for (var k = 0; k < this.fns.length; k++) { this.fns[k](i); }
  };
  function onLayer(map, layer, on, off) {
    map.on('layeradd', function (e) { if (e.layer === layer) { on(); } });
    map.on('layerremove', function (e) { if (e.layer === layer) { off(); } });
  }
  // One legend panel per map, bottom right: the legends of the layers that are on, in
  // the order they were registered, never taller than the room below the controls at the
  // top right (it scrolls instead of covering them).
  function panel(map) {
    var id = map.getContainer().id;
    if (panels[id]) { return panels[id]; }
    var p = {sections: [], div: null, body: null};
    var ctl = L.control({position: 'bottomright'});
    ctl.onAdd = function () {
      var div = L.DomUtil.create('div', 'tk-box tk-legend-panel');
      div.setAttribute('role', 'region');
      div.setAttribute('aria-label', 'Teckenförklaring');
      var head = L.DomUtil.create('div', 'tk-legend-head', div);
      head.textContent = 'Teckenförklaring';
      p.body = L.DomUtil.create('div', 'tk-legend-body', div);
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      p.div = div;
      return div;
    };
    p.fit = function () {
      if (!p.div || p.div.style.display === 'none') { return; }
      var box = map.getContainer().getBoundingClientRect();
      var mine = p.div.getBoundingClientRect();
      var top = box.top;
      var corner = map.getContainer().querySelectorAll(
        '.leaflet-top.leaflet-right .leaflet-control');
      for (var k = 0; k < corner.length; k++) {
        var r = corner[k].getBoundingClientRect();
        if (r.height > 0 && r.left < mine.right && r.right > mine.left) {
          top = Math.max(top, r.bottom);
        }
      }
      p.div.style.maxHeight = Math.max(40, mine.bottom - top - 12) + 'px';
    };
    p.render = function () {
      if (!p.div) { return; }
      var shown = p.sections.filter(function (s) { return s.on; });
      p.body.innerHTML = '';
      shown.forEach(function (s) {
        var sec = L.DomUtil.create('div', 'tk-legend-section tk-legend', p.body);
        sec.innerHTML = s.html;  // made and escaped in Python
      });
      p.div.style.display = shown.length ? '' : 'none';
      p.div.style.maxHeight = '';
      p.fit();
    };
    ctl.addTo(map);
    map.on('resize overlayadd overlayremove', function () { setTimeout(p.fit, 0); });
    window.addEventListener('load', function () { setTimeout(p.fit, 0); });
    panels[id] = p;
    return p;
  }
  return {
    timeline: function (map) {
      var id = map.getContainer().id;
      return timelines[id] || (timelines[id] = new Timeline());
    },
    // A legend shown in the map's legend panel exactly while ``layer`` is on; returns
    // ``{set: function (html)}`` to change it (the month slider's legends).
    legend: function (map, layer, html) {
      var p = panel(map);
      var s = {html: html, on: map.hasLayer(layer)};
      p.sections.push(s);
      onLayer(map, layer, function () { s.on = true; p.render(); },
              function () { s.on = false; p.render(); });
      p.render();
      return {set: function (h) { s.html = h; if (s.on) { p.render(); } }};
    },
    // Only one layer of ``layers`` is on at a time: switching one on switches the others off.
    exclusive: function (map, layers) {
      layers.forEach(function (layer) {
        onLayer(map, layer, function () {
          layers.forEach(function (o) {
            if (o !== layer && map.hasLayer(o)) { map.removeLayer(o); }
          });
        }, function () {});
      });
    },
    bindToLayer: function (map, layer, ctl) {
      if (map.hasLayer(layer)) { ctl.addTo(map); }
      onLayer(map, layer, function () { ctl.addTo(map); }, function () { ctl.remove(); });
    }
  };
})();
"""

// @ts-check
/**
 * The geofence editor: draw or edit a circle or a polygon on a Leaflet map. Tiles are optional
 * (`web.tileUrl`): without them the map is blank but fully usable, with a coordinate grid, a
 * scale bar, the pointer's coordinates, a "go to" box and the fence's coordinates as editable
 * numbers; so it works offline and sends nobody the site's location.
 *
 * Leaflet is the UMD build served from node_modules by the dashboard (global `L`); everything it
 * styles goes through the CSSOM or leaflet.css, so the page's CSP needs no inline styles.
 */
import { h, replace, uid } from './dom.js';
import { formatNumber, t } from './i18n.js';
import { button, field, input } from './ui.js';

/**
 * @typedef {{lat: number, lon: number}} GeoPoint
 * @typedef {{kind: 'circle', center: GeoPoint, radiusMetres: number} | {kind: 'polygon', points: GeoPoint[]}} Geofence
 * @typedef {'none' | 'circle' | 'polygon'} Mode
 * @typedef {{tileUrl: string | null, tileAttribution: string, tileMaxZoom: number, center: GeoPoint}} MapSettings
 */

const DEFAULT_RADIUS_METRES = 50;
const PRECISION = 1e7; // about a centimetre

/** @param {number} value */
const round = (value) => Math.round(value * PRECISION) / PRECISION;
/** @param {L.LatLng} latLng @returns {GeoPoint} */
const toPoint = (latLng) => ({ lat: round(latLng.lat), lon: round(L.Util.wrapNum(latLng.lng, [-180, 180], true)) });
/** @param {GeoPoint} point */
const toLatLng = (point) => L.latLng(point.lat, point.lon);

/** A handle that is easy to grab with a finger: a CSS-styled div, no images. @param {string} className */
const handleIcon = (className) => L.divIcon({ className: `fence-handle ${className}`, iconSize: [28, 28], iconAnchor: [14, 14] });

/** The graticule step (degrees) for a span: 1, 2 or 5 times a power of ten, about six lines across. @param {number} span */
export function gridStep(span) {
  const raw = span / 6;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw) ?? 10 * power;
  return step;
}

/** @param {number} value @param {number} step */
function gridLabel(value, step) {
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  return value.toFixed(digits);
}

/**
 * Parses "lat, lon" lines (commas, spaces or tabs between; blank lines ignored).
 * @param {string} text
 * @returns {{points: GeoPoint[], bad: number[]}} `bad`: 1-based numbers of lines that are not coordinates
 */
export function parsePoints(text) {
  /** @type {GeoPoint[]} */
  const points = [];
  /** @type {number[]} */
  const bad = [];
  text.split('\n').forEach((line, index) => {
    if (!line.trim()) return;
    const parts = line.trim().split(/[\s,;]+/).map(Number);
    const [lat, lon] = parts;
    if (parts.length !== 2 || lat === undefined || lon === undefined || !Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) bad.push(index + 1);
    else points.push({ lat, lon });
  });
  return { points, bad };
}

/** @param {GeoPoint[]} points */
const formatPoints = (points) => points.map((p) => `${p.lat.toFixed(7)}, ${p.lon.toFixed(7)}`).join('\n');

/**
 * Builds the editor into `container` (which must be in the document).
 * @param {HTMLElement} container
 * @param {{geofence?: Geofence | null, settings: MapSettings, readOnly?: boolean, onChange?: (fence: Geofence | undefined) => void}} options
 */
export function geofenceEditor(container, options) {
  const readOnly = options.readOnly === true;
  /** @type {Mode} */
  let mode = options.geofence?.kind ?? 'none';
  /** @type {{center: GeoPoint | null, radius: number}} */
  const circle = { center: null, radius: DEFAULT_RADIUS_METRES };
  /** @type {GeoPoint[]} */
  let polygon = [];
  if (options.geofence?.kind === 'circle') {
    circle.center = { ...options.geofence.center };
    circle.radius = options.geofence.radiusMetres;
  } else if (options.geofence?.kind === 'polygon') polygon = options.geofence.points.map((p) => ({ ...p }));

  // ---- the frame: toolbar, map, readouts, coordinate fields ----
  const modeGroup = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': t('fence.shape') });
  const mapElement = h('div', { class: 'fence-map', dataset: { test: 'fence-map' }, role: 'application', 'aria-label': t('fence.mapLabel') });
  const pointer = h('span', { class: 'coords', dataset: { test: 'pointer-coords' }, text: '—' });
  const zoomText = h('span', { class: 'coords' });
  const help = h('p', { class: 'hint fence-help' });
  const summary = h('p', { class: 'fence-summary', dataset: { test: 'fence-summary' } });
  const numbers = h('div', { class: 'fence-numbers' });
  const goLat = input('goLat', { inputmode: 'decimal', placeholder: '22.3193' });
  const goLon = input('goLon', { inputmode: 'decimal', placeholder: '114.1694' });
  goLat.dataset.test = 'go-lat';
  goLon.dataset.test = 'go-lon';
  const goButton = button(t('fence.go'), { test: 'go', onClick: () => goTo() });
  const undoButton = button(t('fence.undo'), { test: 'fence-undo', onClick: () => undo() });
  const clearButton = button(t('fence.clear'), { kind: 'danger', test: 'fence-clear', onClick: () => clear() });
  const locateButton = button(t('fence.myLocation'), { onClick: () => locate() });

  replace(
    container,
    h(
      'div',
      { class: 'fence-editor' },
      readOnly ? null : h('div', { class: 'fence-toolbar' }, modeGroup, undoButton, clearButton),
      h(
        'div',
        { class: 'fence-goto' },
        field(t('fence.latitude'), goLat),
        field(t('fence.longitude'), goLon),
        goButton,
        'geolocation' in navigator && window.isSecureContext ? locateButton : null,
      ),
      mapElement,
      h('div', { class: 'fence-status' }, h('span', {}, t('fence.pointer'), ' ', pointer), zoomText),
      readOnly ? null : help,
      summary,
      readOnly ? null : numbers,
    ),
  );

  // ---- the map ----
  const settings = options.settings;
  const map = L.map(mapElement, {
    center: toLatLng(settings.center),
    zoom: 17,
    minZoom: 2,
    maxZoom: 21,
    attributionControl: Boolean(settings.tileUrl),
    zoomSnap: 1,
    doubleClickZoom: false,
    zoomControl: false,
  });
  // Top right: the grid's latitude labels run down the left edge.
  L.control.zoom({ position: 'topright', zoomInTitle: t('fence.zoomIn'), zoomOutTitle: t('fence.zoomOut') }).addTo(map);
  if (settings.tileUrl) {
    const attribution = document.createElement('span');
    attribution.textContent = settings.tileAttribution;
    map.attributionControl.setPrefix(false);
    L.tileLayer(settings.tileUrl, { maxZoom: 21, maxNativeZoom: settings.tileMaxZoom, attribution: attribution.innerHTML }).addTo(map);
    mapElement.classList.add('has-tiles');
  } else {
    mapElement.classList.add('no-tiles');
  }
  L.control.scale({ metric: true, imperial: false, maxWidth: 160 }).addTo(map);

  // A coordinate grid: without tiles it is the only sense of place and direction.
  const grid = L.layerGroup().addTo(map);
  const drawGrid = () => {
    grid.clearLayers();
    const bounds = map.getBounds();
    const step = gridStep(Math.max(bounds.getNorth() - bounds.getSouth(), 1e-9));
    const west = bounds.getWest();
    const east = bounds.getEast();
    const south = bounds.getSouth();
    const north = bounds.getNorth();
    const style = { color: '#94a3b8', weight: 1, opacity: 0.6, interactive: false };
    /** @param {L.LatLngExpression} at @param {string} text @param {string} side */
    const label = (at, text, side) =>
      L.marker(at, { interactive: false, keyboard: false, icon: L.divIcon({ className: `grid-label grid-label-${side}`, html: text, iconSize: [80, 16], iconAnchor: side === 'lat' ? [-2, 16] : [-2, -2] }) }).addTo(grid);
    for (let lat = Math.ceil(south / step) * step, n = 0; lat <= north && n < 40; lat += step, n++) {
      L.polyline([[lat, west], [lat, east]], style).addTo(grid);
      label([lat, west], gridLabel(lat, step), 'lat');
    }
    for (let lon = Math.ceil(west / step) * step, n = 0; lon <= east && n < 40; lon += step, n++) {
      L.polyline([[south, lon], [north, lon]], style).addTo(grid);
      label([north, lon], gridLabel(L.Util.wrapNum(lon, [-180, 180], true), step), 'lon');
    }
    zoomText.textContent = t('fence.zoom', { zoom: map.getZoom() });
  };
  map.on('moveend zoomend', drawGrid);

  /** @param {L.LatLng} latLng */
  const showCoords = (latLng) => {
    const p = toPoint(latLng);
    pointer.textContent = `${p.lat.toFixed(6)}, ${p.lon.toFixed(6)}`;
  };
  map.on('mousemove', (event) => showCoords(/** @type {L.LeafletMouseEvent} */ (event).latlng));
  map.on('move', () => {
    if (!matchMedia('(hover: hover)').matches) showCoords(map.getCenter());
  });

  // ---- the fence's layers ----
  const fenceLayer = L.layerGroup().addTo(map);
  const shapeStyle = { color: '#0f766e', weight: 3, fillColor: '#14b8a6', fillOpacity: 0.2, interactive: false };

  const changed = () => {
    draw();
    renderNumbers();
    options.onChange?.(get());
  };

  const draw = () => {
    fenceLayer.clearLayers();
    if (mode === 'circle' && circle.center) {
      const center = toLatLng(circle.center);
      const shape = L.circle(center, { ...shapeStyle, radius: circle.radius }).addTo(fenceLayer);
      if (!readOnly) {
        const centerHandle = L.marker(center, { draggable: true, icon: handleIcon('fence-center'), title: t('fence.centre'), keyboard: false }).addTo(fenceLayer);
        // The radius handle sits due east of the centre, on the circle.
        const east = L.latLng(center.lat, center.lng + (circle.radius / (111_320 * Math.cos((center.lat * Math.PI) / 180))));
        const radiusHandle = L.marker(east, { draggable: true, icon: handleIcon('fence-radius'), title: t('fence.radius'), keyboard: false }).addTo(fenceLayer);
        centerHandle.on('drag', (event) => {
          const at = /** @type {L.LeafletMouseEvent} */ (/** @type {unknown} */ (event)).latlng ?? centerHandle.getLatLng();
          shape.setLatLng(at);
        });
        centerHandle.on('dragend', () => {
          circle.center = toPoint(centerHandle.getLatLng());
          changed();
        });
        radiusHandle.on('drag', () => shape.setRadius(Math.max(1, map.distance(shape.getLatLng(), radiusHandle.getLatLng()))));
        radiusHandle.on('dragend', () => {
          circle.radius = Math.max(1, Math.round(map.distance(toLatLng(/** @type {GeoPoint} */ (circle.center)), radiusHandle.getLatLng())));
          changed();
        });
      }
    } else if (mode === 'polygon' && polygon.length > 0) {
      const latLngs = polygon.map(toLatLng);
      if (polygon.length >= 3) L.polygon(latLngs, shapeStyle).addTo(fenceLayer);
      else L.polyline(latLngs, { ...shapeStyle, dashArray: '6 6' }).addTo(fenceLayer);
      if (!readOnly) {
        polygon.forEach((point, index) => {
          const vertex = L.marker(toLatLng(point), {
            draggable: true,
            icon: handleIcon(index === 0 ? 'fence-vertex fence-first' : 'fence-vertex'),
            title: t('fence.corner', { n: index + 1 }),
            keyboard: false,
          }).addTo(fenceLayer);
          vertex.on('dragend', () => {
            polygon[index] = toPoint(vertex.getLatLng());
            changed();
          });
          vertex.on('click', () => {
            polygon.splice(index, 1);
            changed();
          });
        });
        // Between each pair of corners, a smaller handle that adds a corner there.
        if (polygon.length >= 3) {
          polygon.forEach((point, index) => {
            const next = /** @type {GeoPoint} */ (polygon[(index + 1) % polygon.length]);
            const middle = { lat: (point.lat + next.lat) / 2, lon: (point.lon + next.lon) / 2 };
            const handle = L.marker(toLatLng(middle), { icon: handleIcon('fence-midpoint'), title: t('fence.addCorner'), keyboard: false }).addTo(fenceLayer);
            handle.on('click', () => {
              polygon.splice(index + 1, 0, toPoint(toLatLng(middle)));
              changed();
            });
          });
        }
      }
    }
    summary.textContent = describe();
    undoButton.disabled = readOnly || !(mode === 'polygon' ? polygon.length > 0 : mode === 'circle' && circle.center);
    clearButton.disabled = undoButton.disabled;
    help.textContent = mode === 'circle' ? t('fence.helpCircle') : mode === 'polygon' ? t('fence.helpPolygon') : t('fence.helpNone');
  };

  const describe = () => {
    const fence = get();
    if (!fence) return t('fence.none');
    if (fence.kind === 'circle') return t('fence.circleSummary', { lat: fence.center.lat.toFixed(6), lon: fence.center.lon.toFixed(6), radius: formatNumber(fence.radiusMetres, 1) });
    return fence.points.length < 3 ? t('fence.polygonIncomplete', { n: fence.points.length }) : t('fence.polygonSummary', { n: fence.points.length, area: formatNumber(Math.round(polygonArea(fence.points))) });
  };

  // ---- typed coordinates: precise, and all there is when the map has no tiles ----
  const renderNumbers = () => {
    if (readOnly) return;
    if (mode === 'circle') {
      const lat = input('circleLat', { inputmode: 'decimal', value: circle.center?.lat ?? '' });
      const lon = input('circleLon', { inputmode: 'decimal', value: circle.center?.lon ?? '' });
      const radius = input('circleRadius', { type: 'number', min: 1, max: 20000, step: '1', value: circle.radius });
      lat.dataset.test = 'circle-lat';
      lon.dataset.test = 'circle-lon';
      radius.dataset.test = 'circle-radius';
      const apply = () => {
        const la = Number(lat.value);
        const lo = Number(lon.value);
        const r = Number(radius.value);
        if (lat.value.trim() && lon.value.trim() && Number.isFinite(la) && Number.isFinite(lo) && Math.abs(la) <= 90 && Math.abs(lo) <= 180) circle.center = { lat: la, lon: lo };
        if (Number.isFinite(r) && r > 0) circle.radius = r;
        draw();
        options.onChange?.(get());
      };
      for (const element of [lat, lon, radius]) element.addEventListener('change', apply);
      replace(
        numbers,
        h('div', { class: 'grid-3' }, field(t('fence.centreLat'), lat, { name: 'policy.geofence.center.lat' }), field(t('fence.centreLon'), lon, { name: 'policy.geofence.center.lon' }), field(t('fence.radiusMetres'), radius, { name: 'policy.geofence.radiusMetres' })),
      );
    } else if (mode === 'polygon') {
      const text = h('textarea', { name: 'polygonPoints', rows: 5, spellcheck: 'false', dataset: { test: 'polygon-points' } });
      text.value = formatPoints(polygon);
      const problem = h('div', { class: 'field-error', role: 'alert' });
      text.addEventListener('change', () => {
        const parsed = parsePoints(text.value);
        problem.textContent = parsed.bad.length ? t('fence.badLines', { lines: parsed.bad.join(', ') }) : '';
        if (parsed.bad.length) return;
        polygon = parsed.points;
        draw();
        options.onChange?.(get());
      });
      const id = uid('points');
      text.id = id;
      replace(numbers, h('div', { class: 'field field-wide', dataset: { field: 'policy.geofence.points' } }, h('label', { for: id, text: t('fence.pointsLabel') }), text, h('small', { class: 'hint', text: t('fence.pointsHint') }), problem));
    } else replace(numbers);
  };

  // ---- modes and actions ----
  /** @param {Mode} next */
  const setMode = (next) => {
    mode = next;
    for (const radio of Array.from(modeGroup.querySelectorAll('button'))) radio.setAttribute('aria-checked', String(radio.dataset.mode === mode));
    changed();
  };
  for (const [value, label] of /** @type {Array<[Mode, string]>} */ ([
    ['none', t('fence.modeNone')],
    ['circle', t('fence.modeCircle')],
    ['polygon', t('fence.modePolygon')],
  ])) {
    modeGroup.append(
      h('button', { type: 'button', role: 'radio', class: 'segment', 'aria-checked': String(value === mode), dataset: { mode: value, test: `fence-mode-${value}` }, text: label, on: { click: () => setMode(value) } }),
    );
  }

  if (!readOnly) {
    map.on('click', (event) => {
      const at = toPoint(/** @type {L.LeafletMouseEvent} */ (event).latlng);
      if (mode === 'polygon') polygon.push(at);
      else if (mode === 'circle') {
        if (!circle.center) circle.center = at;
        else circle.radius = Math.max(1, Math.round(map.distance(toLatLng(circle.center), toLatLng(at))));
      } else return;
      changed();
    });
  }

  const undo = () => {
    if (mode === 'polygon') polygon.pop();
    else if (mode === 'circle') circle.center = null;
    changed();
  };
  const clear = () => {
    if (mode === 'polygon') polygon = [];
    else if (mode === 'circle') {
      circle.center = null;
      circle.radius = DEFAULT_RADIUS_METRES;
    }
    changed();
  };
  const goTo = () => {
    const lat = Number(goLat.value);
    const lon = Number(goLon.value);
    if (goLat.value.trim() && goLon.value.trim() && Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
      map.setView([lat, lon], Math.max(map.getZoom(), 17), { animate: false });
      goLat.closest('.field')?.classList.remove('has-error');
    } else goLat.closest('.field')?.classList.add('has-error');
  };
  for (const element of [goLat, goLon]) element.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      goTo();
    }
  });
  const locate = () => {
    navigator.geolocation.getCurrentPosition(
      (position) => map.setView([position.coords.latitude, position.coords.longitude], 18),
      () => {
        summary.textContent = t('fence.noLocation');
      },
      { enableHighAccuracy: true, timeout: 10_000 },
    );
  };

  /** The fence as the API takes it; undefined for none. @returns {Geofence | undefined} */
  const get = () => {
    if (mode === 'circle' && circle.center) return { kind: 'circle', center: { ...circle.center }, radiusMetres: circle.radius };
    if (mode === 'polygon' && polygon.length > 0) return { kind: 'polygon', points: polygon.map((p) => ({ ...p })) };
    return undefined;
  };

  const fit = () => {
    const fence = get();
    if (fence?.kind === 'circle') map.fitBounds(L.latLng(fence.center.lat, fence.center.lon).toBounds(fence.radiusMetres * 2.4), { maxZoom: 19 });
    else if (fence?.kind === 'polygon' && fence.points.length > 0) map.fitBounds(L.latLngBounds(fence.points.map(toLatLng)).pad(0.2), { maxZoom: 19 });
  };

  // The container may just have been laid out: let Leaflet measure it.
  requestAnimationFrame(() => {
    map.invalidateSize();
    fit();
    drawGrid();
  });
  fit();
  drawGrid();
  changed();

  return {
    get,
    map,
    destroy: () => map.remove(),
  };
}

/** Area of a small polygon, m² (local equirectangular projection, as core/location does). @param {GeoPoint[]} points */
export function polygonArea(points) {
  if (points.length < 3) return 0;
  const origin = /** @type {GeoPoint} */ (points[0]);
  const cos = Math.cos((origin.lat * Math.PI) / 180);
  const xy = points.map((p) => [((p.lon - origin.lon) * Math.PI * 6371008.8 * cos) / 180, ((p.lat - origin.lat) * Math.PI * 6371008.8) / 180]);
  let sum = 0;
  for (let i = 0; i < xy.length; i++) {
    const [x1, y1] = /** @type {number[]} */ (xy[i]);
    const [x2, y2] = /** @type {number[]} */ (xy[(i + 1) % xy.length]);
    sum += /** @type {number} */ (x1) * /** @type {number} */ (y2) - /** @type {number} */ (x2) * /** @type {number} */ (y1);
  }
  return Math.abs(sum) / 2;
}

// @ts-check
/**
 * A few DOM helpers: the console builds its pages from elements, never from HTML strings, so no
 * text from the server can become markup, and nothing needs inline styles or scripts (the CSP
 * forbids both).
 */

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, unknown>} Attributes
 */

/**
 * Makes an element. Attributes: `class`, `text`, `dataset` (object), `on` (event -> listener),
 * boolean properties (`disabled`, `checked`, `hidden`, `required`, ...), anything else as an
 * attribute (`null`/`undefined`/`false` leave it out).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attributes} [attributes]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = String(value);
    else if (name === 'text') element.textContent = String(value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name === 'on') {
      for (const [event, listener] of Object.entries(/** @type {Record<string, EventListener>} */ (value))) element.addEventListener(event, listener);
    } else if (name === 'value' && 'value' in element) /** @type {HTMLInputElement} */ (element).value = String(value);
    else if (typeof value === 'boolean') /** @type {any} */ (element)[name] = value;
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

/**
 * @param {Node} parent
 * @param {(Child | Child[])[]} children
 */
export function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/**
 * Empties an element and fills it again.
 * @param {Element} element
 * @param {...(Child | Child[])} children
 */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

let nextId = 0;
/** A page-unique element id, for label/input pairs. @param {string} prefix */
export function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/**
 * The values of a form's named controls (checkboxes as booleans; multi-checkbox groups sharing a
 * name as arrays of the checked values).
 * @param {HTMLFormElement} form
 * @returns {Record<string, string | boolean | string[]>}
 */
export function formValues(form) {
  /** @type {Record<string, string | boolean | string[]>} */
  const values = {};
  for (const control of Array.from(form.elements)) {
    if (!(control instanceof HTMLInputElement || control instanceof HTMLSelectElement || control instanceof HTMLTextAreaElement) || !control.name) continue;
    if (control instanceof HTMLInputElement && control.type === 'checkbox') {
      if (control.dataset.group === 'list') {
        const list = /** @type {string[]} */ (values[control.name] ?? []);
        if (control.checked) list.push(control.value);
        values[control.name] = list;
      } else values[control.name] = control.checked;
    } else if (control instanceof HTMLInputElement && control.type === 'radio') {
      if (control.checked) values[control.name] = control.value;
    } else values[control.name] = control.value;
  }
  return values;
}

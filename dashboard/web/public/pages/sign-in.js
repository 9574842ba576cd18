// @ts-check
/**
 * Sign in, and the forced change of a one-time password (first admin, new users, resets): the
 * server refuses everything else until it is changed.
 */
import { ApiError, api, setCsrfToken } from '../lib/api.js';
import { formValues, h, replace } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { button, field, formErrorBox, input, languageSwitch, notice, showErrors, clearErrors } from '../lib/ui.js';

const MIN_PASSWORD_LENGTH = 12;

/** Where to go afterwards: `?next=` when it is a path on this site, else home. @param {{homePath: string, signInPath: string}} config */
function nextPath(config) {
  const next = new URLSearchParams(location.search).get('next');
  return next && /^\/(?!\/)[^\s\\]*$/.test(next) && !next.startsWith(config.signInPath) ? next : config.homePath;
}

/**
 * @param {HTMLElement} root
 * @param {{homePath: string, signInPath: string}} config
 */
export async function mount(root, config) {
  const panel = h('div', { class: 'signin-panel' });
  replace(
    root,
    h(
      'div',
      { class: 'signin' },
      h('div', { class: 'signin-top' }, languageSwitch()),
      h('div', { class: 'signin-brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), h('h1', { text: 'punchgate' }), h('p', { text: t('signIn.tagline') })),
      panel,
    ),
  );

  /** @param {string | null} currentPassword known when we just signed in with it */
  const showChangePassword = (currentPassword) => {
    const form = h(
      'form',
      { class: 'form', dataset: { test: 'change-password-form' }, novalidate: true },
      formErrorBox(),
      h('h2', { text: t('signIn.changeTitle') }),
      notice('info', t('signIn.changeIntro')),
      currentPassword === null ? field(t('signIn.currentPassword'), input('currentPassword', { type: 'password', autocomplete: 'current-password', required: true }), { name: 'currentPassword' }) : null,
      field(t('signIn.newPassword'), input('newPassword', { type: 'password', autocomplete: 'new-password', required: true }), {
        name: 'newPassword',
        hint: t('signIn.passwordRule', { min: MIN_PASSWORD_LENGTH }),
      }),
      field(t('signIn.repeatPassword'), input('repeatPassword', { type: 'password', autocomplete: 'new-password', required: true }), { name: 'repeatPassword' }),
      h('div', { class: 'form-actions' }, button(t('signIn.changeButton'), { kind: 'primary', type: 'submit', test: 'change-password' })),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      const values = /** @type {Record<string, string>} */ (formValues(form));
      const fail = (/** @type {string} */ name, /** @type {string} */ message) =>
        showErrors(form, new ApiError(400, { error: message, issues: [{ in: 'body', field: name, message }] }));
      if ((values.newPassword ?? '').length < MIN_PASSWORD_LENGTH) return fail('newPassword', t('signIn.passwordRule', { min: MIN_PASSWORD_LENGTH }));
      if (values.newPassword !== values.repeatPassword) return fail('repeatPassword', t('signIn.mismatch'));
      const submit = form.querySelector('button[type=submit]');
      if (submit instanceof HTMLButtonElement) submit.disabled = true;
      try {
        await api('POST', '/session/password', { currentPassword: currentPassword ?? values.currentPassword, newPassword: values.newPassword });
        location.assign(nextPath(config));
      } catch (error) {
        showErrors(form, error);
      } finally {
        if (submit instanceof HTMLButtonElement) submit.disabled = false;
      }
    });
    replace(panel, form);
    form.querySelector('input')?.focus();
  };

  const showSignIn = () => {
    const form = h(
      'form',
      { class: 'form', dataset: { test: 'sign-in-form' }, novalidate: true },
      formErrorBox(),
      h('h2', { text: t('signIn.title') }),
      field(t('signIn.username'), input('username', { autocomplete: 'username', required: true }), { name: 'username' }),
      field(t('signIn.password'), input('password', { type: 'password', autocomplete: 'current-password', required: true }), { name: 'password' }),
      h('div', { class: 'form-actions' }, button(t('signIn.button'), { kind: 'primary', type: 'submit', test: 'sign-in' })),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const values = /** @type {Record<string, string>} */ (formValues(form));
      const submit = form.querySelector('button[type=submit]');
      if (submit instanceof HTMLButtonElement) submit.disabled = true;
      try {
        const signedIn = await api('POST', '/session', { username: values.username, password: values.password });
        setCsrfToken(signedIn.csrfToken);
        if (signedIn.mustChangePassword) showChangePassword(values.password ?? '');
        else location.assign(nextPath(config));
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) showErrors(form, new ApiError(401, { error: t('signIn.wrong') }));
        else if (error instanceof ApiError && error.status === 429) {
          const seconds = error.body?.retryAfterSeconds;
          showErrors(form, new ApiError(429, { error: seconds ? t('signIn.locked', { seconds }) : t('signIn.slowDown') }));
        } else showErrors(form, error);
      } finally {
        if (submit instanceof HTMLButtonElement) submit.disabled = false;
      }
    });
    replace(panel, form);
    form.querySelector('input')?.focus();
  };

  // Already signed in? Then straight on (or to the password change the server insists on).
  try {
    const session = await api('GET', '/session');
    setCsrfToken(session.csrfToken);
    if (session.mustChangePassword) showChangePassword(null);
    else location.assign(nextPath(config));
  } catch {
    showSignIn();
  }
}

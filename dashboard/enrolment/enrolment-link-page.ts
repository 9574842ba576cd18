import { documentStart, escapeHtml } from '../web/html.js';
import { spentLinkMessage, spentLinkMessageZh, type SpentLink } from './enrolment-bundles.js';

/** A link whose bundle is waiting: what the page tells about it. */
export interface WaitingBundle {
  deviceId: string;
  fileName: string;
  expiresAt: string;
}

/**
 * The page a browser gets for an enrolment link (a technician's phone scanning the console's QR
 * code, or a chat app's link preview): what the link holds and a button that downloads it with a
 * POST. Only the POST spends the link, so looking at it, or a preview robot fetching it, never
 * does. English and Traditional Chinese; styles from the console's stylesheet, nothing inline
 * (the dashboard's CSP).
 */
export function enrolmentLinkPage(link: WaitingBundle | SpentLink, url: string): string {
  const body =
    'reason' in link
      ? [
          '<h2>This enrolment link gives nothing<br>此登記連結已無效</h2>',
          `<p class="error-text" data-test="spent-en">${escapeHtml(spentLinkMessage(link))}</p>`,
          `<p class="error-text" data-test="spent-zh">${escapeHtml(spentLinkMessageZh(link))}</p>`,
        ]
      : [
          `<h2>Enrolment bundle of gateway ${escapeHtml(link.deviceId)}<br>閘道 ${escapeHtml(link.deviceId)} 的登記套件</h2>`,
          '<dl class="facts">',
          `<dt>Device 裝置</dt><dd data-test="device">${escapeHtml(link.deviceId)}</dd>`,
          `<dt>File 檔案</dt><dd>${escapeHtml(link.fileName)}</dd>`,
          `<dt>Link works until 連結有效至</dt><dd>${escapeHtml(link.expiresAt)}</dd>`,
          '</dl>',
          '<p class="hint">It holds the gateway\'s secret, and the link works <strong>once</strong>: the download spends it. Download it on the Raspberry Pi (below), or here and copy it to the Pi.</p>',
          '<p class="hint">套件內含閘道的密鑰，連結只可使用<strong>一次</strong>：下載後即失效。請在 Raspberry Pi 上下載（見下），或在此下載後複製到 Pi。</p>',
          '<form method="post" class="form-actions">',
          '<button type="submit" class="btn btn-primary" data-test="download">Download, once 下載（只限一次）</button>',
          '</form>',
          '<p class="hint">On the Pi 在 Pi 上：</p>',
          `<pre class="snippet" data-test="curl">curl -fOJ -X POST '${escapeHtml(url)}'</pre>`,
        ];
  return [
    ...documentStart({ title: 'punchgate enrolment 登記', meta: ['<meta name="robots" content="noindex, nofollow">'], head: ['<link rel="stylesheet" href="/assets/app.css">'] }),
    '</head>',
    '<body>',
    '<main class="signin">',
    '<div class="signin-brand"><h1>punchgate</h1><p>Device enrolment 裝置登記</p></div>',
    '<section class="signin-panel">',
    ...body,
    '</section>',
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

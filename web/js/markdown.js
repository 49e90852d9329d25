// The handoff's markdown as DOM: the few shapes bmo writes (headings, lists, tables, fences,
// paragraphs; `code` and **bold** inline), every piece of text a text node, never HTML.
import { h } from './dom.js';

function inline(text) {
  const out = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*/g;
  let at = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    out.push(m[1] !== undefined ? h('code', {}, m[1]) : h('strong', {}, m[2]));
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

const cells = (line) => line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());

export function renderMarkdown(source) {
  const root = h('div', { class: 'markdown' });
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; ) {
    const line = lines[i];
    const fence = /^(`{3,}|~{3,})/.exec(line);
    if (fence) {
      const body = [];
      for (i++; i < lines.length && !lines[i].startsWith(fence[1]); i++) body.push(lines[i]);
      i++;
      root.append(h('pre', {}, h('code', {}, body.join('\n'))));
    } else if (/^#{1,6} /.test(line)) {
      const level = Math.min(6, line.indexOf(' ') + 2); // the page's own headings take h1-h2
      root.append(h(`h${Math.min(level, 6)}`, {}, inline(line.replace(/^#+ /, ''))));
      i++;
    } else if (/^[-*] /.test(line)) {
      const list = h('ul');
      for (; i < lines.length && /^[-*] /.test(lines[i]); i++) list.append(h('li', {}, inline(lines[i].slice(2))));
      root.append(list);
    } else if (line.startsWith('|') && /^\|[-|: ]+\|$/.test(lines[i + 1] ?? '')) {
      const head = cells(line);
      const rows = [];
      for (i += 2; i < lines.length && lines[i].startsWith('|'); i++) rows.push(cells(lines[i]));
      root.append(h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, inline(c))))), h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, inline(c)))))))));
    } else if (/^(-{3,}|\*{3,})$/.test(line.trim())) {
      root.append(h('hr'));
      i++;
    } else if (line.trim() === '') {
      i++;
    } else {
      const para = [];
      for (; i < lines.length && lines[i].trim() !== '' && !/^(#{1,6} |[-*] |\||`{3}|~{3}|-{3,}$)/.test(lines[i]); i++) para.push(lines[i]);
      root.append(h('p', {}, inline(para.join(' '))));
    }
  }
  return root;
}

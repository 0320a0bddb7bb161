// A small scanner for checks over our own source (test/unit/purity…, sqlTextOrdering…).

export interface MaskedSource {
  code: string;
  withStrings: string;
  literals: string[];
}

// Blanks comments, and (in `code`) the contents of strings, templates and regex literals, keeping
// offsets and newlines, so nothing inside a comment or a string is mistaken for code. `literals`:
// the text of every string and template literal (a template whole, `${…}` included), so checks
// of embedded SQL see one statement at a time.
export function maskSource(source: string): MaskedSource {
  const code = [...source];
  const withStrings = [...source];
  const blank = (target: string[], from: number, to: number) => {
    for (let k = from; k < to && k < target.length; k += 1) if (target[k] !== '\n') target[k] = ' ';
  };
  const literals: string[] = [];
  const templateStarts: number[] = [];
  const templateBraces: number[] = [];
  let braces = 0;
  let i = 0;
  const scanUntil = (from: number, stop: (j: number) => boolean): number => {
    let j = from;
    while (j < source.length && !stop(j)) j += source[j] === '\\' ? 2 : 1;
    return j;
  };
  const templateChunk = (from: number) => {
    const end = scanUntil(from, (j) => source[j] === '`' || (source[j] === '$' && source[j + 1] === '{'));
    blank(code, from, end);
    if (source[end] === '$') templateBraces.push(braces);
    else literals.push(source.slice((templateStarts.pop() ?? from - 1) + 1, end));
    return source[end] === '$' ? end + 2 : end + 1;
  };
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === '/' && (next === '/' || next === '*')) {
      const close = next === '/' ? source.indexOf('\n', i) : source.indexOf('*/', i + 2);
      const end = close < 0 ? source.length : next === '/' ? close : close + 2;
      blank(code, i, end);
      blank(withStrings, i, end);
      i = end;
    } else if (c === '"' || c === "'") {
      const end = scanUntil(i + 1, (j) => source[j] === c || source[j] === '\n');
      blank(code, i + 1, end);
      literals.push(source.slice(i + 1, end));
      i = end + 1;
    } else if (c === '`') {
      templateStarts.push(i);
      i = templateChunk(i + 1);
    } else if (c === '}' && templateBraces.at(-1) === braces) {
      templateBraces.pop();
      i = templateChunk(i + 1);
    } else if (c === '/' && /(^|[(,=:[!&|?{};+\-*%<>~^]|\b(return|typeof|case|else|in|of|void|yield|await|delete|throw))\s*$/.test(withStrings.slice(Math.max(0, i - 40), i).join(''))) {
      let inClass = false;
      const end = scanUntil(i + 1, (j) => {
        if (source[j] === '[') inClass = true;
        else if (source[j] === ']') inClass = false;
        return source[j] === '\n' || (source[j] === '/' && !inClass);
      });
      blank(code, i + 1, end);
      i = end + 1;
    } else {
      if (c === '{') braces += 1;
      if (c === '}') braces -= 1;
      i += 1;
    }
  }
  return { code: code.join(''), withStrings: withStrings.join(''), literals };
}

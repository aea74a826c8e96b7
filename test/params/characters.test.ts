// The character rules every param follows (src/params/characters.ts),
// generated over the code point ranges: unassigned code points,
// noncharacters, blank-looking characters, and the emoji exception, with
// real text in many scripts that must keep passing.
import t from 'tap';
import { BLANK_LOOKING, findForbiddenCharacter, isNoncharacter } from '../../src/params/characters.ts';

const text = (value: string) => findForbiddenCharacter(value);
const hex = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

t.test('all 66 noncharacters are refused, in every plane, wherever they sit', async (t) => {
  const nonchars: number[] = [];
  for (let cp = 0xfdd0; cp <= 0xfdef; cp++) nonchars.push(cp);
  for (let plane = 0; plane <= 16; plane++) nonchars.push(plane * 0x10000 + 0xfffe, plane * 0x10000 + 0xffff);
  t.equal(nonchars.length, 66);
  for (const cp of nonchars) {
    const ch = String.fromCodePoint(cp);
    t.ok(isNoncharacter(cp));
    for (const value of [ch, `a${ch}`, `a${ch}b`, `${ch}b`]) t.match(text(value), /noncharacter/, `${hex(cp)} in ${JSON.stringify(value)}`);
  }
  for (const cp of [0xfdcf, 0xfdf0, 0xfffd, 0x1fffd, 0x10fffd]) t.notOk(isNoncharacter(cp), `${hex(cp)} is not a noncharacter`);
});

t.test('unassigned code points are refused: the empty planes, and gaps in the assigned ones', async (t) => {
  let count = 0;
  // Planes 4 to 13 hold no character at all (Unicode 17); sample each at many points and at its edges.
  for (let plane = 4; plane <= 13; plane++) {
    for (let offset = 0; offset < 0x10000; offset += 0x3ff) {
      const cp = plane * 0x10000 + offset;
      if (isNoncharacter(cp)) continue;
      count++;
      t.match(text(`x${String.fromCodePoint(cp)}`), /unassigned code point/, hex(cp));
    }
  }
  // Long-standing gaps: Greek U+0378-U+0379, the Specials block before U+FFF9, plane 14 around the tags, plane 3 after CJK extensions.
  for (const cp of [0x378, 0x379, 0x380, 0xfff0, 0xfff8, 0xe0080, 0xe01f0, 0x3fffd]) {
    count++;
    t.match(text(String.fromCodePoint(cp)), /unassigned code point/, hex(cp));
  }
  t.ok(count > 600, `${count} unassigned code points checked`);
});

t.test('the whole code space: nothing passes that is unassigned, invisible, a control, private or blank-looking', async (t) => {
  // Each class written as its own property, not as the validator's one class.
  const classes: [string, RegExp][] = [
    ['unassigned', /\p{Cn}/u], ['control', /\p{Cc}/u], ['format', /\p{Cf}/u], ['surrogate', /\p{Cs}/u], ['private use', /\p{Co}/u],
    ['line separator', /\p{Zl}/u], ['paragraph separator', /\p{Zp}/u], ['default ignorable', /\p{Default_Ignorable_Code_Point}/u],
  ];
  let accepted = 0;
  const leaks: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    const ch = String.fromCodePoint(cp);
    if (text(ch) !== undefined) continue;
    accepted++;
    const broken = classes.find(([, regex]) => regex.test(ch))?.[0] ?? (BLANK_LOOKING.includes(cp) ? 'blank-looking' : isNoncharacter(cp) ? 'noncharacter' : undefined);
    if (broken) leaks.push(`${hex(cp)} (${broken})`);
  }
  t.same(leaks.slice(0, 20), [], 'no refused class leaks through');
  // Unicode 17 assigns about 159,800 characters, about 137,500 of them private use; what remains are the visible ones.
  t.ok(accepted > 150_000 && accepted < 160_000, `${accepted} single code points pass`);
});

t.test('blank-looking characters that are not whitespace are refused; their visible neighbours and real spaces pass', async (t) => {
  const blanks = [...BLANK_LOOKING, 0x115f, 0x1160, 0x3164, 0xffa0, 0x1d173, 0x1d174, 0x1d175, 0x1d176, 0x1d177, 0x1d178, 0x1d179, 0x1d17a, 0x17b4, 0x17b5, 0x180e, 0x2060, 0x2064];
  for (const cp of blanks) {
    const ch = String.fromCodePoint(cp);
    for (const value of [ch, `a${ch}b`, `${ch}${ch}`]) t.type(text(value), 'string', `${hex(cp)} in ${JSON.stringify(value)}`);
  }
  t.match(text('a\u2800b'), /braille blank/);
  t.match(text('a\ufffcb'), /object replacement character/);
  t.match(text('a\u{1d159}b'), /blank-looking character that is not a space \(U\+1D159\)/);
  for (const cp of [0x2801, 0x28ff, 0x303e, 0xfffd, 0x1d158, 0x1d15a, 0x20, 0xa0, 0x2003, 0x3000, 0x202f]) {
    t.equal(text(`a${String.fromCodePoint(cp)}b`), undefined, `${hex(cp)} passes`);
  }
});

t.test('emoji: joiners and variation selectors pass only inside an RGI emoji sequence', async (t) => {
  const rgi = [
    '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}\u200d\u{1f466}', // family
    '\u{1f469}\u{1f3fd}\u200d\u{1f4bb}', // technologist, medium skin tone
    '\u{1f3f3}\ufe0f\u200d\u{1f308}', // rainbow flag
    '\u2764\ufe0f', // red heart
    '\u2764\ufe0f\u200d\u{1f525}', // heart on fire
    '1\ufe0f\u20e3', // keycap 1
    '#\ufe0f\u20e3', // keycap #
    '\u{1f3f4}\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}', // flag of Scotland (tag sequence)
    '\u{1f1e9}\u{1f1ea}', // flag of Germany
    '\u{1f44d}\u{1f3ff}', // thumbs up, dark skin tone
  ];
  for (const emoji of rgi) {
    for (const value of [emoji, `Release ${emoji} done`, `${emoji}${emoji}`]) t.equal(text(value), undefined, `${JSON.stringify(value)} passes`);
  }
  const refused = [
    '\u{1f44d}\u200d\u{1f44d}', // ZWJ between emoji that form no RGI sequence: looks like two emoji
    'a\u200db', 'prod\u200d', '\u200dprod', '\u{1f468}\u200d', '\u200d\u{1f468}', '\u{1f468}\u200d\u200d\u{1f469}',
    'a\ufe0f', '1\ufe0f', '\ufe0f\u2764', '\u2764\ufe0f\ufe0f', 'x\ufe0e',
    '\u{1f3f4}\u{e0067}\u{e0062}', 'a\u{e0061}', '\u{e007f}',
  ];
  for (const value of refused) t.type(text(value), 'string', `${JSON.stringify(value)} is refused`);
  t.match(text('\u{1f44d}\u200d\u{1f44d}'), /zero-width joiner outside an emoji sequence \(U\+200D\) at index 2/);
  t.match(text('1\ufe0f'), /emoji variation selector outside an emoji sequence/);
});

t.test('real text in many scripts passes', async (t) => {
  const texts = [
    'Fix the build on arm64 (see #123) — thanks!',
    'Ünïcödé, ça marche, Straße, ½ ≤ ¾, © 2024',
    '日本語のテキストです。漢字とカタカナ、ひらがな',
    '中文提交信息：修复构建错误',
    '한국어 커밋 메시지',
    'مرحبا بالعالم، هذا نص عربي',
    'שלום עולם',
    'नमस्ते दुनिया',
    'สวัสดีชาวโลก',
    'Γειά σου Κόσμε',
    'Привет, мир',
    'გამარჯობა სამყარო',
    'Բարեւ աշխարհ',
    'ሰላም ልዑል',
    'வணக்கம் உலகம்',
    '∀x ∈ ℝ: x² ≥ 0',
    'Deploy 🚀 done ✅, family 👨‍👩‍👧 happy ❤️',
    '\u{10940}\u{10941} (Sidetic, new in Unicode 17)',
    '\u{20000}\u{2a6d6} CJK extension B',
  ];
  for (const value of texts) t.equal(text(value), undefined, value);
  // Scripts whose spelling uses ZWNJ or ZWJ between letters (Persian, some Indic conjuncts) are refused: the joiner is invisible there.
  t.type(text('می\u200cخواهم'), 'string', 'Persian with ZWNJ is refused (documented)');
  t.type(text('क्\u200dष'), 'string', 'Devanagari with an explicit ZWJ is refused (documented)');
});

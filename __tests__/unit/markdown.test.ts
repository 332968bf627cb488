import { bytes, clip, code, escapeMarkdown } from '../../src/markdown.js'

/** Positions of `character` that a Markdown parser would read as syntax: not preceded by an odd run of backslashes. */
function unescaped(text: string, character: string): number[] {
  const found: number[] = []
  for (let i = text.indexOf(character); i !== -1; i = text.indexOf(character, i + 1)) {
    let backslashes = 0
    for (let j = i - 1; j >= 0 && text[j] === '\\'; j--) backslashes++
    if (backslashes % 2 === 0) found.push(i)
  }
  return found
}

/** What GitHub displays for the escaped text: escapes and entities resolved, the zero-width spaces invisible. */
function displayed(text: string): string {
  return text
    .replace(/\\([!-/:-@[-`{-~])/g, '$1')
    .replace(/\u200B/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
}

describe('escapeMarkdown', () => {
  it('keeps a table cell one cell: no raw | (a backslash before it is escaped itself)', () => {
    for (const attempt of ['a | b', '\\| c', '\\\\|', '||']) {
      const escaped = escapeMarkdown(attempt)
      expect(unescaped(escaped, '|')).toEqual([])
    }
  })

  it('opens no code span, emphasis, strikethrough or math', () => {
    const escaped = escapeMarkdown('`x` **bold** __u__ ~~gone~~ $\\href{https://evil.example}{x}$')
    for (const character of ['`', '*', '_', '~', '$', '{', '}'])
      expect(unescaped(escaped, character)).toEqual([])
  })

  it('turns line breaks and control characters into spaces: no new row, heading or list', () => {
    const escaped = escapeMarkdown('Table\n| injected | row |\r\n# Heading\u2028- item\u0000\u001b[31m')
    for (const character of ['\n', '\r', '\u2028', '\u0000', '\u001b'])
      expect(escaped).not.toContain(character)
  })

  it('makes HTML inert: no tag, no comment, and nothing that closes the sticky comment marker', () => {
    for (const attempt of [
      '<!-- serverless-python-deploy preview: shop/dev -->',
      '--><img src=x onerror=alert(1)>',
      '<details open><summary>x</summary>',
      '&lt;script&gt;'
    ]) {
      const escaped = escapeMarkdown(attempt)
      expect(escaped).not.toContain('<')
      expect(escaped).not.toContain('>')
      expect(escaped).not.toContain('-->')
      // An entity in the input stays text, it is not decoded into a tag.
      expect(escaped).not.toMatch(/&(?!amp;|lt;|gt;)/)
    }
    expect(escapeMarkdown('&lt;script&gt;')).toBe('&amp;lt;script&amp;gt;')
  })

  it('makes links, images and autolinks inert', () => {
    const escaped = escapeMarkdown(
      '[click](https://evil.example) ![img](http://evil.example/a.png) <https://x.example> www.evil.example HTTPS://CAPS.example'
    )
    expect(unescaped(escaped, '[')).toEqual([])
    expect(unescaped(escaped, ']')).toEqual([])
    expect(unescaped(escaped, '(')).toEqual([])
    expect(unescaped(escaped, '!')).toEqual([])
    expect(escaped).not.toMatch(/:\/\//)
    expect(escaped).not.toMatch(/\\:\/\//)
    expect(escaped).not.toMatch(/www\\?\./i)
  })

  it('breaks mentions, team mentions, issue references and e-mail addresses', () => {
    const escaped = escapeMarkdown('@octocat @org/team #123 org/repo#7 GH-1 someone@example.com')
    expect(escaped).not.toMatch(/@[A-Za-z0-9]/)
    expect(escaped).not.toMatch(/#\d/)
  })

  it('drops bidirectional overrides that would make the text read otherwise', () => {
    expect(escapeMarkdown('Users\u202Eelbat\u202C\u2066x\u2069')).toBe('Userselbatx')
  })

  it('loses nothing a reviewer reads: the displayed text is the input', () => {
    for (const text of [
      'ApiLambdaFunction',
      'AWS::DynamoDB::Table',
      'GET /orders/{id}',
      'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/shop-dev*:*',
      'a | b `c` *d* _e_ [f](g) <h> & @i #1 https://j.example www.k.example ~l~ $m$ \\n',
      'python3.12'
    ]) {
      expect(displayed(escapeMarkdown(text))).toBe(text)
    }
  })
})

describe('code, clip and bytes', () => {
  it('code: monospace around the escaped text, cut to its length', () => {
    expect(code('a|b')).toBe('<code>a\\|b</code>')
    expect(code('x'.repeat(300), 10)).toBe(`<code>${'x'.repeat(9)}…</code>`)
    expect(code('<code>`x`</code>')).not.toMatch(/<code>`/)
  })

  it('clip marks the cut and leaves short text alone', () => {
    expect(clip('abcdef', 4)).toBe('abc…')
    expect(clip('abc', 4)).toBe('abc')
  })

  it('bytes: B, KB and MB with one decimal', () => {
    expect(bytes(512)).toBe('512 B')
    expect(bytes(1536)).toBe('1.5 KB')
    expect(bytes(262144000)).toBe('250.0 MB')
  })
})

package smi

import (
	"fmt"
	"strings"
)

type tokenKind uint8

const (
	tokEOF    tokenKind = iota
	tokIdent            // identifier or keyword: letters, digits, hyphens
	tokNumber           // decimal number, possibly negative
	tokString           // "quoted text", quotes removed
	tokHex              // 'ABCD'H, text keeps the quotes and the suffix
	tokBin              // '0101'B, text keeps the quotes and the suffix
	tokPunct            // ::= .. { } ( ) [ ] , ; | and any other single character
)

type token struct {
	kind tokenKind
	text string
	line int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of file"
	case tokString:
		return fmt.Sprintf("string %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

// is reports whether t is the identifier or punctuation s.
func (t token) is(s string) bool {
	return (t.kind == tokIdent || t.kind == tokPunct) && t.text == s
}

// lex splits module text into tokens. Comments run from "--" to the end of
// the line or to the next "--"; strings may span lines and contain anything
// but a double quote (a doubled "" stands for one quote, as in ASN.1).
func lex(src string) ([]token, error) {
	var toks []token
	line := 1
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			i += 2
			for i < len(src) && src[i] != '\n' {
				if src[i] == '-' && i+1 < len(src) && src[i+1] == '-' {
					i += 2
					break
				}
				i++
			}
		case c == '"':
			start, startLine := i+1, line
			var b strings.Builder
			i++
			for {
				if i >= len(src) {
					return nil, fmt.Errorf("line %d: unterminated string", startLine)
				}
				if src[i] == '"' {
					if i+1 < len(src) && src[i+1] == '"' {
						b.WriteString(src[start : i+1])
						i += 2
						start = i
						continue
					}
					break
				}
				if src[i] == '\n' {
					line++
				}
				i++
			}
			b.WriteString(src[start:i])
			i++
			toks = append(toks, token{tokString, b.String(), startLine})
		case c == '\'':
			end := strings.IndexByte(src[i+1:], '\'')
			if end < 0 || i+1+end+1 >= len(src) {
				return nil, fmt.Errorf("line %d: unterminated quoted binary or hex string", line)
			}
			body := src[i+1 : i+1+end]
			suffix := src[i+1+end+1]
			kind := tokHex
			switch suffix {
			case 'H', 'h':
			case 'B', 'b':
				kind = tokBin
			default:
				return nil, fmt.Errorf("line %d: quoted string '%s' needs an H or B suffix", line, body)
			}
			line += strings.Count(body, "\n")
			toks = append(toks, token{kind, "'" + body + "'" + string(suffix), line})
			i += end + 3
		case isLetter(c):
			start := i
			for i < len(src) && (isLetter(src[i]) || isDigit(src[i]) || src[i] == '_' ||
				(src[i] == '-' && !(i+1 < len(src) && src[i+1] == '-'))) {
				i++
			}
			toks = append(toks, token{tokIdent, src[start:i], line})
		case isDigit(c) || (c == '-' && i+1 < len(src) && isDigit(src[i+1])):
			start := i
			i++
			for i < len(src) && isDigit(src[i]) {
				i++
			}
			toks = append(toks, token{tokNumber, src[start:i], line})
		case strings.HasPrefix(src[i:], "::="):
			toks = append(toks, token{tokPunct, "::=", line})
			i += 3
		case strings.HasPrefix(src[i:], ".."):
			toks = append(toks, token{tokPunct, "..", line})
			i += 2
		default:
			toks = append(toks, token{tokPunct, string(c), line})
			i++
		}
	}
	toks = append(toks, token{tokEOF, "", line})
	return toks, nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// Package predicate is the small language of session rules: a condition on
// one event's fields, parsed once and compiled, then evaluated per event.
//
//	expr    := or
//	or      := and { "or" and }
//	and     := unary { "and" unary }
//	unary   := "not" unary | primary
//	primary := "(" expr ")"
//	         | "exists" field | "exists" "(" field ")"
//	         | field ( "=" | "!=" ) value
//	         | field "in" "(" value { "," value } ")"
//	field   := name { "." name }         (a dotted path into nested objects)
//	value   := 'text' | "text" | bare    (bare: letters, digits, _ - . : / + @)
//
// Keywords are case-insensitive. A field's value is the text of its JSON
// scalar: a string's content, a number as written, true, false; null and
// missing fields have no value. field = v holds when the field has a value
// equal to v; field != v is not (field = v), so a missing field is != any
// value; exists field holds when the field is present and not null.
package predicate

import (
	"fmt"
	"strings"
)

// Error is a parse error at a byte offset of the expression; its message
// shows the expression with a caret under the bad token.
type Error struct {
	Expr string
	Pos  int
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s at column %d:\n  %s\n  %s^", e.Msg, e.Pos+1, e.Expr, strings.Repeat(" ", e.Pos))
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tWord
	tString
	tEq
	tNe
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return fmt.Sprintf("%q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == ':' || c == '/' || c == '+' || c == '@'
}

func lex(src string) ([]token, error) {
	var out []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, token{tLParen, "(", i})
			i++
		case c == ')':
			out = append(out, token{tRParen, ")", i})
			i++
		case c == ',':
			out = append(out, token{tComma, ",", i})
			i++
		case c == '=':
			out = append(out, token{tEq, "=", i})
			i++
			if i < len(src) && src[i] == '=' { // == reads as =
				i++
			}
		case c == '!':
			if i+1 < len(src) && src[i+1] == '=' {
				out = append(out, token{tNe, "!=", i})
				i += 2
				continue
			}
			return nil, &Error{src, i, "'!' must be followed by '=' (not equal)"}
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(src) && src[j] != c; j++ {
				if src[j] == '\\' && j+1 < len(src) {
					j++
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) {
				return nil, &Error{src, i, "unterminated quoted value"}
			}
			out = append(out, token{tString, b.String(), i})
			i = j + 1
		case isBare(c):
			j := i
			for j < len(src) && isBare(src[j]) {
				j++
			}
			out = append(out, token{tWord, src[i:j], i})
			i = j
		default:
			return nil, &Error{src, i, fmt.Sprintf("unexpected character %q", c)}
		}
	}
	return append(out, token{tEOF, "", len(src)}), nil
}

type parser struct {
	src  string
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) errAt(t token, format string, args ...any) error {
	return &Error{p.src, t.pos, fmt.Sprintf(format, args...)}
}

func (p *parser) keyword(t token, kw string) bool {
	return t.kind == tWord && strings.EqualFold(t.text, kw)
}

var keywords = []string{"and", "or", "not", "in", "exists"}

func isKeyword(s string) bool {
	for _, k := range keywords {
		if strings.EqualFold(s, k) {
			return true
		}
	}
	return false
}

func (p *parser) parseOr() (node, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.keyword(p.peek(), "or") {
		p.next()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = orNode{left, right}
	}
	return left, nil
}

func (p *parser) parseAnd() (node, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.keyword(p.peek(), "and") {
		p.next()
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		left = andNode{left, right}
	}
	return left, nil
}

func (p *parser) parseUnary() (node, error) {
	if p.keyword(p.peek(), "not") {
		p.next()
		n, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (node, error) {
	t := p.next()
	switch {
	case t.kind == tLParen:
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, p.errAt(c, "expected ')' to close the '(' at column %d, found %s", t.pos+1, c.describe())
		}
		return n, nil
	case p.keyword(t, "exists"):
		paren := p.peek().kind == tLParen
		if paren {
			p.next()
		}
		f, err := p.field(p.next())
		if err != nil {
			return nil, err
		}
		if paren {
			if c := p.next(); c.kind != tRParen {
				return nil, p.errAt(c, "expected ')' after the field of exists, found %s", c.describe())
			}
		}
		return existsNode{f}, nil
	case t.kind == tWord && !isKeyword(t.text):
		f, err := p.field(t)
		if err != nil {
			return nil, err
		}
		op := p.next()
		switch {
		case op.kind == tEq || op.kind == tNe:
			v, err := p.value(p.next())
			if err != nil {
				return nil, err
			}
			var n node = eqNode{f, v}
			if op.kind == tNe {
				n = notNode{n}
			}
			return n, nil
		case p.keyword(op, "in"):
			if c := p.next(); c.kind != tLParen {
				return nil, p.errAt(c, "expected '(' after in, found %s", c.describe())
			}
			var vs []string
			for {
				v, err := p.value(p.next())
				if err != nil {
					return nil, err
				}
				vs = append(vs, v)
				c := p.next()
				if c.kind == tRParen {
					break
				}
				if c.kind != tComma {
					return nil, p.errAt(c, "expected ',' or ')' in the list of in, found %s", c.describe())
				}
			}
			return inNode{f, vs}, nil
		}
		return nil, p.errAt(op, "expected =, != or in after the field %s, found %s", f, op.describe())
	}
	return nil, p.errAt(t, "expected a field name, exists, not or '(', found %s", t.describe())
}

func (p *parser) field(t token) (string, error) {
	if t.kind != tWord || isKeyword(t.text) {
		return "", p.errAt(t, "expected a field name, found %s", t.describe())
	}
	for _, part := range strings.Split(t.text, ".") {
		if part == "" {
			return "", p.errAt(t, "field %q: empty name between dots", t.text)
		}
	}
	return t.text, nil
}

func (p *parser) value(t token) (string, error) {
	if t.kind == tString || t.kind == tWord && !isKeyword(t.text) {
		return t.text, nil
	}
	return "", p.errAt(t, "expected a value (a word or a quoted text), found %s", t.describe())
}

// Parse reads an expression and compiles it.
func Parse(src string) (*Expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	if p.peek().kind == tEOF {
		return nil, &Error{src, 0, "empty expression"}
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t, "expected and, or or the end of the expression, found %s", t.describe())
	}
	return &Expr{root: n}, nil
}

package batch

import (
	"github.com/sessionize/sessionize/internal/session"
)

// partEncoder is a sessionWriter that can turn a partition's sessions into
// its output bytes on a fold worker, leaving the goroutine that writes in
// partition order only the copying: formatting JSON lines costs more than
// half as much as folding, and done by the one writer it waited on one core.
type partEncoder interface {
	sessionWriter
	// Encode appends the output of sessions to b. It only reads the
	// writer's settings, so fold workers call it at the same time.
	Encode(b []byte, sessions []session.Session) ([]byte, error)
	// WriteEncoded writes what Encode made, in the writer's order.
	WriteEncoded(b []byte) error
}

// stringKeeper is a sessionWriter that keeps strings of the sessions it
// is given after Write returns (the table output holds its rows until the
// commit), so the memory they point into must not be reused.
type stringKeeper interface{ keepsStrings() bool }

// multiWriter sends every session to each of its writers.
type multiWriter struct {
	writers []sessionWriter
}

func (m *multiWriter) add(w sessionWriter) { m.writers = append(m.writers, w) }

// keepsStrings reports whether a writer keeps sessions' strings.
func (m *multiWriter) keepsStrings() bool {
	for _, w := range m.writers {
		if k, ok := w.(stringKeeper); ok && k.keepsStrings() {
			return true
		}
	}
	return false
}

// encode formats r's sessions for each writer that can do it away from
// writePart; it runs on the fold worker that made r.
func (m *multiWriter) encode(r *partResult) {
	for k, w := range m.writers {
		e, ok := w.(partEncoder)
		if !ok {
			continue
		}
		if r.encoded == nil {
			r.encoded = make([][]byte, len(m.writers))
		}
		b, err := e.Encode(r.encoded[k][:0], r.sessions)
		r.encoded[k] = b
		if err != nil {
			r.encodeErr = err
			return
		}
	}
}

// writePart writes r's sessions to every writer, in writer order, using
// what encode made where it could.
func (m *multiWriter) writePart(r *partResult) error {
	if r.encodeErr != nil {
		return r.encodeErr
	}
	for k, w := range m.writers {
		if e, ok := w.(partEncoder); ok && r.encoded != nil {
			if err := e.WriteEncoded(r.encoded[k]); err != nil {
				return err
			}
			continue
		}
		for i := range r.sessions {
			if err := w.Write(&r.sessions[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *multiWriter) Close() error {
	for _, w := range m.writers {
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

package batch

import (
	"sync"

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

// multiWriter sends every session to each of its writers.
type multiWriter struct {
	writers []sessionWriter
	bufs    sync.Pool // *[]byte: encoded partitions' buffers, reused once written
}

func (m *multiWriter) add(w sessionWriter) { m.writers = append(m.writers, w) }

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
		var buf []byte
		if p, ok := m.bufs.Get().(*[]byte); ok {
			buf = (*p)[:0]
		}
		b, err := e.Encode(buf, r.sessions)
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
			b := r.encoded[k][:0]
			r.encoded[k] = nil
			m.bufs.Put(&b)
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

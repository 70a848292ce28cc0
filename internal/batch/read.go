package batch

import (
	"bytes"
	"context"
	"fmt"
	"io"
)

// chunkSize is the unit of parallel parsing: big enough that per-chunk
// overhead vanishes, small enough that both cores get work early.
const chunkSize = 4 << 20

// lineSplitter cuts a JSON lines stream into chunks of whole lines, taking
// buffers from free and never holding more than one record longer than the
// record limit.
type lineSplitter struct {
	maxRecord int
	free      chan []byte
	bufSize   int
}

func newLineSplitter(maxRecord, buffers int) *lineSplitter {
	size := chunkSize
	if min := 2 * (maxRecord + 1); size < min {
		size = min
	}
	s := &lineSplitter{maxRecord: maxRecord, free: make(chan []byte, buffers), bufSize: size}
	for i := 0; i < buffers; i++ {
		s.free <- make([]byte, size)
	}
	return s
}

// release gives a chunk's buffer back once it has been parsed.
func (s *lineSplitter) release(buf []byte) { s.free <- buf[:cap(buf)] }

func (s *lineSplitter) get(ctx context.Context) ([]byte, error) {
	select {
	case b := <-s.free:
		return b[:cap(b)], nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// split reads r to the end and calls emit with each chunk; the chunk's
// data is a buffer to release after parsing. It returns the number of
// records (lines) seen.
func (s *lineSplitter) split(ctx context.Context, r io.Reader, file string, refMs int64, firstSeq uint64, emit func(*jsonlChunk) error) (uint64, error) {
	seq, line := firstSeq, int64(1)
	buf, err := s.get(ctx)
	if err != nil {
		return 0, err
	}
	n := 0            // bytes held in buf
	skipping := false // discarding the rest of an over-long line
	send := func(data []byte) error {
		lines := uint64(bytes.Count(data, []byte{'\n'}))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			lines++
		}
		c := &jsonlChunk{data: data, seq: seq, line: line, file: file, refMs: refMs}
		seq += lines
		line += int64(lines)
		return emit(c)
	}
	for {
		m, rerr := fill(r, buf[n:])
		n += m
		eof := rerr == io.EOF
		if rerr != nil && !eof {
			return seq - firstSeq, fmt.Errorf("read %s: %w", file, rerr)
		}
		if skipping {
			i := bytes.IndexByte(buf[:n], '\n')
			if i < 0 {
				n = 0
				if eof {
					break
				}
				continue
			}
			skipping = false
			n = copy(buf, buf[i+1:n])
			if !eof {
				continue
			}
		}
		cut := bytes.LastIndexByte(buf[:n], '\n') + 1
		if cut == 0 && n == len(buf) {
			// One line fills the whole buffer: it is over the record
			// limit. Keep its start (so it is rejected with something
			// recognisable) and skip the rest of it.
			next, err := s.get(ctx)
			if err != nil {
				return seq - firstSeq, err
			}
			if err := send(buf[:s.maxRecord+1]); err != nil {
				return seq - firstSeq, err
			}
			buf, n, skipping = next, 0, true
			continue
		}
		if eof {
			cut = n
		}
		if cut > 0 {
			next, err := s.get(ctx)
			if err != nil {
				return seq - firstSeq, err
			}
			rest := copy(next, buf[cut:n])
			if err := send(buf[:cut]); err != nil {
				return seq - firstSeq, err
			}
			buf, n = next, rest
		}
		if eof {
			break
		}
	}
	s.release(buf)
	return seq - firstSeq, nil
}

// fill reads into buf until it is full or r ends (io.EOF) or fails. Unlike
// io.ReadFull, whose io.ErrUnexpectedEOF for a short last read looks just
// like a gzip stream's for a truncated file, the end of r is io.EOF only.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

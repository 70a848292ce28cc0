package gen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

func TestWriteStopsWhenCanceled(t *testing.T) {
	c := smallConfig()
	c.Events = 10_000_000
	g, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err = Write(ctx, g, io.Discard, func(Stats) {
		if calls++; calls == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write after cancel: %v", err)
	}
	if n := g.Stats().Events; n >= c.Events || n < 2*progressEvery {
		t.Fatalf("stopped after %d records", n)
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after -= len(p); f.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteReturnsTheWriterError(t *testing.T) {
	g, err := New(smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	_, err = Write(context.Background(), g, &failingWriter{after: 3 << 20}, nil)
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("Write to a failing writer: %v", err)
	}
	// It stopped soon after the failure, not at the end of the stream.
	if n := g.Stats().Events; n >= smallConfig().Events {
		t.Fatalf("kept generating after the failure: %d records", n)
	}
}

func TestWriteCountsBytes(t *testing.T) {
	g, err := New(smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := Write(context.Background(), g, &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) || bytes.Count(buf.Bytes(), []byte{'\n'}) != int(smallConfig().Events) {
		t.Fatalf("Write says %d bytes, wrote %d in %d lines", n, buf.Len(), bytes.Count(buf.Bytes(), []byte{'\n'}))
	}
}

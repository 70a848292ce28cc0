package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/klauspost/compress/zstd"

	"github.com/sessionize/sessionize/internal/session"
)

// A checkpoint file holds, for each partition an instance owns, the next
// offset to read, the rejected count and the engine state; zstd-compressed
// as a whole. A partition that moves to another instance is restored from
// its entry alone.

const checkpointMagic = "SZCK1"

var errBadCheckpoint = errors.New("corrupt checkpoint file")

type partitionCheckpoint struct {
	partition int32
	next      int64
	rejected  int64
	state     []byte // session.Stream.AppendState
}

func encodeCheckpoint(parts []partitionCheckpoint) ([]byte, error) {
	slices.SortFunc(parts, func(a, b partitionCheckpoint) int { return int(a.partition) - int(b.partition) })
	raw := []byte(checkpointMagic)
	raw = binary.AppendUvarint(raw, uint64(len(parts)))
	for _, p := range parts {
		raw = binary.AppendVarint(raw, int64(p.partition))
		raw = binary.AppendVarint(raw, p.next)
		raw = binary.AppendVarint(raw, p.rejected)
		raw = binary.AppendUvarint(raw, uint64(len(p.state)))
		raw = append(raw, p.state...)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	return enc.EncodeAll(raw, nil), nil
}

func decodeCheckpoint(data []byte) (map[int32]partitionCheckpoint, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(4<<30))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	raw, err := dec.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadCheckpoint, err)
	}
	if len(raw) < len(checkpointMagic) || string(raw[:len(checkpointMagic)]) != checkpointMagic {
		return nil, errBadCheckpoint
	}
	raw = raw[len(checkpointMagic):]
	next := func() (int64, bool) {
		v, n := binary.Varint(raw)
		if n <= 0 {
			return 0, false
		}
		raw = raw[n:]
		return v, true
	}
	count, n := binary.Uvarint(raw)
	if n <= 0 || count > uint64(len(raw)) {
		return nil, errBadCheckpoint
	}
	raw = raw[n:]
	out := make(map[int32]partitionCheckpoint, count)
	for i := uint64(0); i < count; i++ {
		part, ok1 := next()
		off, ok2 := next()
		rej, ok3 := next()
		l, n := binary.Uvarint(raw)
		if !ok1 || !ok2 || !ok3 || n <= 0 || l > uint64(len(raw)-n) {
			return nil, errBadCheckpoint
		}
		raw = raw[n:]
		out[int32(part)] = partitionCheckpoint{partition: int32(part), next: off, rejected: rej, state: raw[:l:l]}
		raw = raw[l:]
	}
	return out, nil
}

// checkpointEntry copies the partition's state out, as of its next offset.
func (p *partition) checkpointEntry() partitionCheckpoint {
	return partitionCheckpoint{partition: p.id, next: p.next, rejected: p.rejectedCount, state: p.stream.AppendState(nil)}
}

// restore rebuilds a partition from its checkpoint entry.
func (c partitionCheckpoint) restore(rules session.Rules, latenessMs int64) (*session.Stream, error) {
	s, err := session.RestoreStream(rules, latenessMs, c.state)
	if err != nil {
		return nil, fmt.Errorf("restore partition %d: %w", c.partition, err)
	}
	return s, nil
}

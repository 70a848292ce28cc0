package gen

// mix64 is the splitmix64 finalizer. It is a bijection on uint64, so
// distinct counters give distinct ids with no set of ids seen so far.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

const hexDigits = "0123456789abcdef"

// appendHex appends the low n hex digits of v, most significant first.
func appendHex(b []byte, v uint64, n int) []byte {
	var buf [16]byte
	for i := 15; i >= 16-n; i-- {
		buf[i] = hexDigits[v&0xf]
		v >>= 4
	}
	return append(b, buf[16-n:]...)
}

// appendEventID appends the 16-hex-digit id of the n-th event.
func appendEventID(b []byte, key, n uint64) []byte {
	return appendHex(b, mix64(key+n), 16)
}

// appendUUID appends a version-4-shaped UUID for a user index. It is
// derived, not stored, so users cost no memory for their ids.
func appendUUID(b []byte, key uint64, user int32) []byte {
	hi := mix64(key ^ uint64(user))
	lo := mix64(hi ^ 0x9e3779b97f4a7c15)
	hi = hi&^(0xf<<12) | 0x4<<12       // version 4
	lo = lo&^(0x3<<62) | uint64(2)<<62 // RFC 4122 variant
	b = appendHex(b, hi>>32, 8)
	b = append(b, '-')
	b = appendHex(b, hi>>16, 4)
	b = append(b, '-')
	b = appendHex(b, hi, 4)
	b = append(b, '-')
	b = appendHex(b, lo>>48, 4)
	b = append(b, '-')
	return appendHex(b, lo, 12)
}

// userTraits are stable per-user choices (home airport, site currency),
// hashed from the user so they cost no memory.
func userTraits(key uint64, user int32) (homeCity, currency uint8) {
	h := mix64(key ^ uint64(user) ^ 0x5851f42d4c957f2d)
	homeCity = uint8(h % uint64(len(cities)))
	currency = pickWeighted(currencyWeights[:], float64(h>>11)/(1<<53))
	return homeCity, currency
}

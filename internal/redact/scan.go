package redact

import "unsafe"

// lanes is how many walks scanClean interleaves. One DFA walk is bound by
// load latency (each lookup needs the previous state), about 600 MB/s here;
// independent walks over different parts of the buffer overlap those
// latencies and scale almost linearly up to eight.
const (
	lanes   = 8
	minLane = 64
)

// scanClean runs the automaton from s over b and returns the final state
// and true when no pattern ends anywhere in b. On false the caller rescans
// b exactly; the state is then meaningless.
//
// Match states are absorbing in trans, so a lane that completed a pattern
// is still in a match state at its end: one comparison per lane per buffer.
//
// Lanes after the first start from the root. A lane only ever reaches a
// match state on a real match (a pattern inside its own bytes is in the
// stream), but it misses patterns that begin before its start, so each
// lane is then re-walked from the true incoming state until that walk
// converges with the lane's own, which for ordinary output takes a few
// bytes.
func (d *dfa) scanClean(s uint32, b []byte) (uint32, bool) {
	t, cls := d.trans, &d.cls
	if len(b) < lanes*minLane {
		for _, c := range b {
			s = t[s+cls[c]]
		}
		return s, s >= d.matchLim
	}
	seg := len(b) / lanes
	st := d.walkLanes(s, b, seg)
	last := &st[lanes-1]
	for _, c := range b[lanes*seg:] {
		*last = t[*last+cls[c]]
	}
	if min(st[0], st[1], st[2], st[3], st[4], st[5], st[6], st[7]) < d.matchLim {
		return s, false
	}
	q := st[0]
	for k := 1; k < lanes; k++ {
		lane := b[k*seg : (k+1)*seg]
		if k == lanes-1 {
			lane = b[k*seg:]
		}
		var ok bool
		if q, ok = d.resync(q, lane, st[k]); !ok {
			return s, false
		}
	}
	return q, true
}

// walkLanes runs the eight walks in step, lane k over b[k*seg:(k+1)*seg],
// lane 0 from s and the others from the root, and returns their states.
//
// It skips bounds checks, which is what keeps eight walks in registers
// (with them the compiler spills, and eight lanes run slower than four).
// Every access is in bounds by construction: a state plus a class indexes
// trans because dfa.verify checked at build time that every entry starts a
// row inside the table and every class is below the row length; lane k
// reads b[k*seg+i] for i < seg, inside b as len(b) >= lanes*seg.
func (d *dfa) walkLanes(s uint32, b []byte, seg int) [lanes]uint32 {
	if seg <= 0 || len(b) < lanes*seg || s >= uint32(len(d.trans)) || s%d.stride != 0 {
		panic("redact: walkLanes called out of bounds")
	}
	t := unsafe.Pointer(unsafe.SliceData(d.trans))
	cls := &d.cls
	r := d.root
	s0, s1, s2, s3, s4, s5, s6, s7 := s, r, r, r, r, r, r, r
	p := unsafe.Pointer(unsafe.SliceData(b))
	end := unsafe.Add(p, seg)
	for ; p != end; p = unsafe.Add(p, 1) {
		s0 = *(*uint32)(unsafe.Add(t, 4*uintptr(s0+cls[*(*byte)(p)])))
		s1 = *(*uint32)(unsafe.Add(t, 4*uintptr(s1+cls[*(*byte)(unsafe.Add(p, seg))])))
		s2 = *(*uint32)(unsafe.Add(t, 4*uintptr(s2+cls[*(*byte)(unsafe.Add(p, 2*seg))])))
		s3 = *(*uint32)(unsafe.Add(t, 4*uintptr(s3+cls[*(*byte)(unsafe.Add(p, 3*seg))])))
		s4 = *(*uint32)(unsafe.Add(t, 4*uintptr(s4+cls[*(*byte)(unsafe.Add(p, 4*seg))])))
		s5 = *(*uint32)(unsafe.Add(t, 4*uintptr(s5+cls[*(*byte)(unsafe.Add(p, 5*seg))])))
		s6 = *(*uint32)(unsafe.Add(t, 4*uintptr(s6+cls[*(*byte)(unsafe.Add(p, 6*seg))])))
		s7 = *(*uint32)(unsafe.Add(t, 4*uintptr(s7+cls[*(*byte)(unsafe.Add(p, 7*seg))])))
	}
	return [lanes]uint32{s0, s1, s2, s3, s4, s5, s6, s7}
}

// resync walks lane from the true incoming state q alongside the lane's
// own walk from the root until both are in the same state, after which the
// lane's end state laneEnd is the true one.
func (d *dfa) resync(q uint32, lane []byte, laneEnd uint32) (uint32, bool) {
	t, cls := d.trans, &d.cls
	r := d.root
	for _, c := range lane {
		if q == r {
			return laneEnd, true
		}
		q = t[q+cls[c]]
		r = t[r+cls[c]]
	}
	return q, q >= d.matchLim
}

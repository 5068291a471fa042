package switchtest

// String names the action as tests and reports print it.
func (a FaultAction) String() string {
	switch a {
	case Delay:
		return "delay"
	case Drop:
		return "drop"
	case CloseBefore:
		return "close-before"
	case CloseAfter:
		return "close-after"
	case Garble:
		return "garble"
	case Twice:
		return "twice"
	case WrongSTAN:
		return "wrong-stan"
	case BreakMAC:
		return "break-mac"
	}
	return "fault?"
}

// FaultsFired says how many times each action has fired since the faults
// were last set (WithFaults or SetFaults): what a chaos run injected, by
// kind of misbehaviour. Read it before SetFaults replaces them.
func (h *Host) FaultsFired() map[FaultAction]int {
	f := h.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[FaultAction]int{}
	for i, x := range f.list {
		if f.used[i] > 0 {
			out[x.Action] += f.used[i]
		}
	}
	return out
}

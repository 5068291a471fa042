package iso

// Kind names a message kind independently of how a dialect spells it.
type Kind int

const (
	KindSale Kind = iota + 1
	KindPaymentCodeSale
	KindBalanceInquiry
	KindVoid
	KindRefund
	KindReversal // also its repeat, the reversal advice and the advice's repeat
	KindSettlement
	KindBatchUpload
	KindBatchUploadEnd
	KindSignOn
	KindSignOff
	KindEcho
	KindQROrderCreate
	KindQROrderQuery
	KindQROrderClose
)

var kindNames = [...]string{"", "sale", "payment-code sale", "balance inquiry", "void", "refund", "reversal",
	"settlement", "batch upload", "batch upload end", "sign-on", "sign-off", "echo",
	"QR order create", "QR order query", "QR order close"}

func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Financial reports whether the kind moves money (and so counts in a batch).
func (k Kind) Financial() bool {
	switch k {
	case KindSale, KindPaymentCodeSale, KindVoid, KindRefund:
		return true
	}
	return false
}

// Recovery is what a terminal must do with a request whose outcome it does
// not know (no reply, unreadable reply, bad MAC, crash after sending).
type Recovery int

const (
	// RecoveryNone: nothing moved at the host, or the host will not act on a
	// repeat (inquiries, network management, QR order queries).
	RecoveryNone Recovery = iota
	// RecoveryReverse: send the dialect's reversal until the host
	// acknowledges it; the original is then void at the host.
	RecoveryReverse
	// RecoveryRepeat: the message is an advice (or itself a reversal), so it
	// is resent as a repeat until acknowledged; its effect then stands.
	RecoveryRepeat
)

func (r Recovery) String() string {
	return [...]string{"none", "reverse", "repeat"}[r]
}

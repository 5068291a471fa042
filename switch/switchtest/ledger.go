package switchtest

import (
	"fmt"
	"sync"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// TxnState is where a transaction stands in the host's ledger.
type TxnState string

const (
	Approved TxnState = "approved"
	Declined TxnState = "declined"
	Reversed TxnState = "reversed"
)

// Txn is one transaction as the host believes it happened.
type Txn struct {
	Terminal iso.TerminalID
	Batch    iso.BatchNumber
	STAN     iso.STAN
	Kind     iso.Kind
	Amount   iso.Amount
	CardOrg  iso.CardOrg // the organisation the host named in its reply (its class in settlement)
	PAN      iso.PAN     // the card's account as the host read it (a sale by card); prints masked
	RRN      iso.RRN
	AuthCode iso.AuthCode
	Code     iso.ResponseCode
	State    TxnState
	Original *txnKey // a void's or refund's sale
	VoidedBy iso.STAN
	Refunded int64
	Settled  bool
}

type txnKey struct {
	tid   iso.TerminalID
	batch iso.BatchNumber
	stan  iso.STAN
}

// order is a merchant-presented QR order.
type order struct {
	key     txnKey
	amount  iso.Amount
	status  iso.QRStatus
	expires time.Time
	// batchClosed: the order's batch closed while it waited, which ended
	// it (closeBatch); it can no longer be paid.
	batchClosed bool
}

// ledger is the host's memory. Every method takes the lock.
type ledger struct {
	mu      sync.Mutex
	txns    map[txnKey]*Txn
	order   []txnKey // arrival order, for inspection
	byRRN   map[iso.RRN]txnKey
	orders  map[string]*order
	batches map[iso.TerminalID]iso.BatchNumber
	keys    map[iso.TerminalID][]byte // MAK issued at each terminal's last sign-on
	tdks    map[iso.TerminalID][]byte // track-data key of each terminal's last 004 sign-on
	seq     int64
	uploads map[txnKey]int // entries received in batch uploads
	// settling is the batch a terminal's last settlement request named:
	// an upload that names none (ISO87, whose 0320 F60 is the original's
	// MTI and STAN) belongs to it.
	settling map[iso.TerminalID]iso.BatchNumber
	upLog    []Upload // upload messages, in arrival order
}

// Upload is one batch-upload message as the host received it.
type Upload struct {
	Terminal iso.TerminalID
	Batch    iso.BatchNumber
	Entries  []iso.BatchEntry // the records it carried (none for an end)
	End      bool             // the upload end (CUP 0320 202/207)
	Balanced bool             // an end after both classes balanced (207)
	Count    int              // an end's F48 count of records uploaded
}

func newLedger() *ledger {
	return &ledger{txns: map[txnKey]*Txn{}, byRRN: map[iso.RRN]txnKey{}, orders: map[string]*order{},
		batches: map[iso.TerminalID]iso.BatchNumber{}, keys: map[iso.TerminalID][]byte{}, tdks: map[iso.TerminalID][]byte{}, uploads: map[txnKey]int{},
		settling: map[iso.TerminalID]iso.BatchNumber{}}
}

// MAK is the KeyStore the server verifies and signs with.
func (l *ledger) MAK(tid iso.TerminalID) ([]byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, ok := l.keys[tid]
	return k, ok
}

// TrackKey is the TrackKeyStore half: the server deciphers a terminal's
// tracks under the TDK its last sign-on issued.
func (l *ledger) TrackKey(tid iso.TerminalID) (iso.TrackDecrypter, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, ok := l.tdks[tid]
	if !ok {
		return nil, false
	}
	return &iso.WorkingKeys{TDK: k}, true
}

func (l *ledger) next() int64 { l.seq++; return l.seq }

func (l *ledger) rrn() iso.RRN { return iso.RRN(fmt.Sprintf("%012d", l.next())) }

func (l *ledger) auth() iso.AuthCode { return iso.AuthCode(fmt.Sprintf("H%05d", l.next()%100000)) }

func (l *ledger) batch(tid iso.TerminalID) iso.BatchNumber {
	if b, ok := l.batches[tid]; ok {
		return b
	}
	return 1
}

func (l *ledger) add(t *Txn) {
	k := txnKey{t.Terminal, t.Batch, t.STAN}
	l.txns[k] = t
	l.order = append(l.order, k)
	if t.RRN != "" && t.State == Approved && (t.Kind == iso.KindSale || t.Kind == iso.KindPaymentCodeSale) {
		l.byRRN[t.RRN] = k
	}
}

// entries are a terminal's batch as the host would settle it.
func (l *ledger) entries(tid iso.TerminalID, b iso.BatchNumber) []iso.BatchEntry {
	var out []iso.BatchEntry
	for _, k := range l.order {
		t := l.txns[k]
		if k.tid == tid && k.batch == b && t.State == Approved && t.Kind.Financial() && !t.Settled {
			out = append(out, iso.BatchEntry{Kind: t.Kind, STAN: t.STAN, Amount: t.Amount, CardOrg: t.CardOrg, Voided: t.VoidedBy != 0})
		}
	}
	return out
}

// closeBatch settles a terminal's batch and opens the next. An order of
// the batch still waiting ends closed with it, as the terminal's journal
// ends it (reversal.Journal.CloseBatch): a payment cannot land in a batch
// already reconciled.
func (l *ledger) closeBatch(tid iso.TerminalID, b iso.BatchNumber) {
	for k, t := range l.txns {
		if k.tid == tid && k.batch == b && t.State == Approved {
			t.Settled = true
		}
	}
	for _, o := range l.orders {
		if o.key.tid == tid && o.key.batch == b && o.status == iso.QRWaiting {
			o.status, o.batchClosed = iso.QRClosed, true
		}
	}
	l.batches[tid] = b.Next()
}

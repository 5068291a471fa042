package cup

import "github.com/posswitch/posswitch/iso"

import "fmt"

// Choices where the public CUP terminal sources disagree. Each is a dialect
// option; the default is documented with its reason and the sources cited.

// VoidReversalF61 says what F61 (original data: batch + trace) a CUP
// reversal of a void carries.
type VoidReversalF61 int

const (
	// VoidReversalF61Sale keeps the void's own F61, the batch and trace of
	// the sale it voided: the reversal is a copy of the message it undoes.
	// The default.
	VoidReversalF61Sale VoidReversalF61 = iota
	// VoidReversalF61Void writes the void's batch (its F60.2) and the
	// void's own trace (its F11), as CaoEnXin/LiaoYang_POS Src/trancomm.c
	// MakeReversalPack does for a POS_SALE_VOID.
	VoidReversalF61Void
)

func (v VoidReversalF61) String() string {
	switch v {
	case VoidReversalF61Sale:
		return "sale"
	case VoidReversalF61Void:
		return "void"
	}
	return fmt.Sprintf("VoidReversalF61(%d)", int(v))
}

// WithVoidReversalF61 chooses the F61 of a CUP reversal of a void.
//
// The default, VoidReversalF61Sale, keeps the void's F61 (the sale's batch
// and trace). The only public terminal that rewrites it
// (CaoEnXin/LiaoYang_POS Src/trancomm.c MakeReversalPack: current batch +
// the void's own trace) does so in a builder whose call is commented out
// in ReverseTranProc of that transit build, so no source shows it on the
// wire; the CUP reversal is otherwise a copy of the original request
// (same source, and wuxinxi/unionpay app/.../PosScanRefund2.java), and the
// host finds the void it reverses by F11, F41 and F60.2, which both
// spellings keep. Keeping the copy is also what terminals already in the
// field send. Choose VoidReversalF61Void if your acquirer asks for it.
// ISO87 refuses the option (its void is itself a reversal).
func WithVoidReversalF61(v VoidReversalF61) iso.Option {
	return func(b *iso.Base) error {
		return configure(b, iso.InvalidField("Option", "cup.WithVoidReversalF61 applies to CUP only"), func(b *cupDialect) error {
			if v != VoidReversalF61Sale && v != VoidReversalF61Void {
				return iso.InvalidField("VoidReversalF61", "unknown choice %d", int(v))
			}
			b.voidReversalF61 = v
			return nil
		})
	}
}

// defaultQRVoidEntry is F22 of a CUP void sent without a card: 03 (QR or
// barcode), 2 (no PIN).
var defaultQRVoidEntry = iso.EntryMode{Method: iso.EntryBarcode}

// WithQRVoidEntryMode sets F22 of a CUP void sent without a card: the void
// of a payment-code sale or of a paid merchant-presented QR order, which
// carries no PAN (a void of a card sale always carries the card, from the
// journal if need be, and its entry mode).
//
// The default is 032 (QR or barcode, no PIN), the entry mode of the sale
// it voids: alon0808/ProjectAfcApp code/AfcCore/UnionPay/qpboc_8583.c sends
// 032 for the payment-code sale, and wuxinxi/unionpay
// app/src/main/java/com/wxx/test/module/PosScanRefund2.java sends 032 in
// the reversal of that sale. The same project's scan-pay void
// (PosScanRefund.java) sends 072, contactless, which no card read backs:
// pass EntryMode{Method: EntryContactless} for a host that wants that.
// CaoEnXin/LiaoYang_POS spells a void without the card as keyed entry
// (Src/tranproc.c SaleVoidGetData, SetCommReqField case CARD_KEYIN) but
// then sends the PAN in F2 and F14; a void without a PAN claims manual
// entry only when this option says so (EntryMode{Method: EntryManual}).
// ISO87 refuses the option.
func WithQRVoidEntryMode(m iso.EntryMode) iso.Option {
	return func(b *iso.Base) error {
		return configure(b, iso.InvalidField("Option", "cup.WithQRVoidEntryMode applies to CUP only"), func(b *cupDialect) error {
			if err := m.Validate(); err != nil {
				return iso.PrefixField("QRVoidEntryMode", err)
			}
			b.qrVoidEntry = &m
			return nil
		})
	}
}

// qrVoidEntryMode is F22 of a CUP void without a card.
func (b *cupDialect) qrVoidEntryMode() iso.EntryMode {
	if b.qrVoidEntry != nil {
		return *b.qrVoidEntry
	}
	return defaultQRVoidEntry
}

// voidReversalF61Of rewrites F61 of a CUP void's reversal when the dialect
// says so: the void's batch (F60.2) and its own trace (F11).
func (b *cupDialect) voidReversalF61Of(r *iso.Message) error {
	if b.voidReversalF61 != VoidReversalF61Void {
		return nil
	}
	f60 := r.Value(60)
	if len(f60) < 8 {
		return iso.Malformed(60, "a void carries its batch in 60.2")
	}
	stan := r.Value(11)
	if len(stan) != 6 {
		return iso.Malformed(11, "want a six-digit trace")
	}
	r.Set(61, f60[2:8]+stan)
	return nil
}

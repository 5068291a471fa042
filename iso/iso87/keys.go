package iso87

import "github.com/posswitch/posswitch/iso"

// iso87KeyBlocks is posswitch's private ISO87 mapping (F125): every key of
// one length, 16 bytes for 003/004, since the ISO87 dialect MACs with
// ANSI X9.19 under a double-length MAK.
var iso87KeyBlocks = iso.KeyBlocks{
	iso.KeysSingleDES:      {{Cipher: 8, Filler: 0}, {Cipher: 8, Filler: 0}},
	iso.KeysDoubleDES:      {{Cipher: 16, Filler: 0}, {Cipher: 16, Filler: 0}},
	iso.KeysDoubleDESTrack: {{Cipher: 16, Filler: 0}, {Cipher: 16, Filler: 0}, {Cipher: 16, Filler: 0}},
}

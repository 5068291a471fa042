package cup

import "github.com/posswitch/posswitch/iso"

// cupKeyBlocks is the CUP 0810 F62 as the CUP POS specification lays it
// out, quoted in chfenix/iso8583 src/main/java/cn/agiledata/iso8583/entity/
// SignResponse.java and followed by CaoEnXin/LiaoYang_POS Src/pospin.c
// LogonDivKey and alon0808/ProjectAfcApp code/AfcCore/UnionPay/
// qpboc_8583.c: 001 is PIK 8 + CV 4 + MAK 8 + CV 4 (24 bytes); 003 is
// PIK 16 + CV 4, then the MAC key as 8 bytes of cipher, 8 binary zeros and
// its 4-byte check value (40 bytes): the MAK is single-length in every
// scheme, its check value single DES; 004 adds TDK 16 + CV 4 (60 bytes).
var cupKeyBlocks = iso.KeyBlocks{
	iso.KeysSingleDES:      {{Cipher: 8, Filler: 0}, {Cipher: 8, Filler: 0}},
	iso.KeysDoubleDES:      {{Cipher: 16, Filler: 0}, {Cipher: 8, Filler: 8}},
	iso.KeysDoubleDESTrack: {{Cipher: 16, Filler: 0}, {Cipher: 8, Filler: 8}, {Cipher: 16, Filler: 0}},
}

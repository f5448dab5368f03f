#include "textflag.h"

// func index2SSE(p *byte, n int, x0, x1, x2 uint64) int
//
// Looks for i with p[i] == c0 and p[i+1] == c1 or c2 sixteen positions at
// a time (SSE2, which every amd64 has): the bytes at i are compared with
// c0, those at i+1 with c1 and c2 (x0, x1 and x2 hold the byte eight
// times), and the masks combined. It scans the blocks at 0, 16, 32, … as long as
// i+17 <= n and returns the first such i, or ^i for the first block it
// did not scan (the caller finishes the tail).
TEXT ·index2SSE(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), DX
	MOVQ x0+16(FP), X0
	PUNPCKLQDQ X0, X0
	MOVQ x1+24(FP), X1
	PUNPCKLQDQ X1, X1
	MOVQ x2+32(FP), X7
	PUNPCKLQDQ X7, X7
	XORQ AX, AX
	SUBQ $33, DX
	JL   single

pair:
	// Two blocks an iteration while i+33 <= n.
	CMPQ AX, DX
	JG   single
	MOVOU (SI)(AX*1), X2
	MOVOU 1(SI)(AX*1), X3
	MOVOU 16(SI)(AX*1), X4
	MOVOU 17(SI)(AX*1), X5
	MOVOU X3, X8
	MOVOU X5, X9
	PCMPEQB X0, X2
	PCMPEQB X1, X3
	PCMPEQB X7, X8
	PCMPEQB X0, X4
	PCMPEQB X1, X5
	PCMPEQB X7, X9
	POR  X8, X3
	POR  X9, X5
	PAND X3, X2
	PAND X5, X4
	MOVOU X2, X6
	POR  X4, X6
	PMOVMSKB X6, BX
	TESTL BX, BX
	JNZ  foundpair
	ADDQ $32, AX
	JMP  pair

foundpair:
	PMOVMSKB X2, BX
	TESTL BX, BX
	JNZ  found
	ADDQ $16, AX
	PMOVMSKB X4, BX
	JMP  found

single:
	// One block while i+17 <= n.
	ADDQ $16, DX
single1:
	CMPQ AX, DX
	JG   done
	MOVOU (SI)(AX*1), X2
	MOVOU 1(SI)(AX*1), X3
	MOVOU X3, X8
	PCMPEQB X0, X2
	PCMPEQB X1, X3
	PCMPEQB X7, X8
	POR  X8, X3
	PAND X3, X2
	PMOVMSKB X2, BX
	TESTL BX, BX
	JNZ  found
	ADDQ $16, AX
	JMP  single1

found:
	BSFL BX, BX
	ADDQ BX, AX
	MOVQ AX, ret+40(FP)
	RET

done:
	NOTQ AX
	MOVQ AX, ret+40(FP)
	RET

// func index2AVX2(p *byte, n int, x0, x1, x2 uint64) int
//
// index2SSE thirty-two positions at a time (AVX2): the same contract,
// blocks at 0, 32, 64, … as long as i+33 <= n.
TEXT ·index2AVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), DX
	MOVQ x0+16(FP), X0
	VPBROADCASTB X0, Y0
	MOVQ x1+24(FP), X1
	VPBROADCASTB X1, Y1
	MOVQ x2+32(FP), X7
	VPBROADCASTB X7, Y7
	XORQ AX, AX
	SUBQ $65, DX
	JL   vsingle

vpair:
	// Two blocks an iteration while i+65 <= n.
	CMPQ AX, DX
	JG   vsingle
	VMOVDQU (SI)(AX*1), Y2
	VMOVDQU 1(SI)(AX*1), Y3
	VMOVDQU 32(SI)(AX*1), Y4
	VMOVDQU 33(SI)(AX*1), Y5
	VPCMPEQB Y0, Y2, Y2
	VPCMPEQB Y1, Y3, Y8
	VPCMPEQB Y7, Y3, Y3
	VPCMPEQB Y0, Y4, Y4
	VPCMPEQB Y1, Y5, Y9
	VPCMPEQB Y7, Y5, Y5
	VPOR Y8, Y3, Y3
	VPOR Y9, Y5, Y5
	VPAND Y3, Y2, Y2
	VPAND Y5, Y4, Y4
	VPOR Y2, Y4, Y6
	VPTEST Y6, Y6
	JNZ  vfoundpair
	ADDQ $64, AX
	JMP  vpair

vfoundpair:
	VPMOVMSKB Y2, BX
	TESTL BX, BX
	JNZ  vfound
	ADDQ $32, AX
	VPMOVMSKB Y4, BX
	JMP  vfound

vsingle:
	// One block while i+33 <= n.
	ADDQ $32, DX
vsingle1:
	CMPQ AX, DX
	JG   vdone
	VMOVDQU (SI)(AX*1), Y2
	VMOVDQU 1(SI)(AX*1), Y3
	VPCMPEQB Y0, Y2, Y2
	VPCMPEQB Y1, Y3, Y8
	VPCMPEQB Y7, Y3, Y3
	VPOR Y8, Y3, Y3
	VPAND Y3, Y2, Y2
	VPMOVMSKB Y2, BX
	TESTL BX, BX
	JNZ  vfound
	ADDQ $32, AX
	JMP  vsingle1

vfound:
	VZEROUPPER
	BSFL BX, BX
	ADDQ BX, AX
	MOVQ AX, ret+40(FP)
	RET

vdone:
	VZEROUPPER
	NOTQ AX
	MOVQ AX, ret+40(FP)
	RET

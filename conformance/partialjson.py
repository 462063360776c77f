"""Is a string a prefix of some JSON text? A pushdown automaton over RFC 8259.

``structured.partial-json`` asks this of every prefix of the streamed content; running the
automaton once over the whole content and noting the first character it cannot accept
answers that for every prefix at once.
"""

from __future__ import annotations

__all__ = ["PartialJSON", "first_invalid"]

_WS = " \t\n\r"
_DIGITS = "0123456789"
_HEX = "0123456789abcdefABCDEF"
_ESCAPES = '"\\/bfnrtu'
_LITERALS = {"t": "true", "f": "false", "n": "null"}

# states
VALUE, KEY_OR_END, KEY, COLON, AFTER, DONE = range(6)
STR, ESC, HEX = range(6, 9)
NUM = 9
LIT = 10
ARRAY = 11  # just after '[': a value or, at once, ']'

# number sub-states; the accepting ones may end the number
N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP = range(8)
_N_ACCEPT = {N_ZERO, N_INT, N_FRAC, N_EXP}


def _number_step(sub: int, ch: str) -> int | None:
    """Next number sub-state, or None when ``ch`` cannot continue the number."""
    digit = ch in _DIGITS
    if sub == N_MINUS:
        return N_ZERO if ch == "0" else N_INT if digit else None
    if sub in (N_ZERO, N_INT):
        if digit and sub == N_INT:
            return N_INT
        if ch == ".":
            return N_DOT
        if ch in "eE":
            return N_E
        return None
    if sub in (N_DOT, N_FRAC):
        if digit:
            return N_FRAC
        return N_E if sub == N_FRAC and ch in "eE" else None
    if sub == N_E:
        return N_ESIGN if ch in "+-" else N_EXP if digit else None
    if sub in (N_ESIGN, N_EXP):
        return N_EXP if digit else None
    return None


def first_invalid(text: str) -> int | None:
    """Index of the first character at which ``text`` stops being a prefix of a JSON text,
    or None when every prefix of it could still grow into valid JSON."""
    return PartialJSON().feed(text)


class PartialJSON:
    """The automaton, resumable: fed a text in the pieces it streamed in, it answers as
    ``first_invalid`` does on their concatenation, without keeping the text (a rule that
    judges a stream in one pass feeds each delta's content as it arrives)."""

    __slots__ = ("_key", "_lit", "_seen", "_stack", "_state", "_sub", "bad")

    def __init__(self) -> None:
        self._stack: list[str] = []  # "{" or "["
        self._state = VALUE
        self._key = False  # the string being read is an object key
        self._sub = 0  # number sub-state, hex digits left, or literal position
        self._lit = ""
        self._seen = 0  # characters fed before the current piece
        self.bad: int | None = None  # the first impossible character, once found

    def feed(self, text: str) -> int | None:
        """Feed the next piece: the index (in everything fed so far) of the first character
        that cannot continue a JSON text, or None. Once one is found, later pieces are not read."""
        if self.bad is None:
            at = self._run(text)
            if at is not None:
                self.bad = self._seen + at
            self._seen += len(text)
        return self.bad

    def _run(self, text: str) -> int | None:
        """The automaton over one piece, from the state the previous pieces left."""
        stack = self._stack
        state, key, sub, lit = self._state, self._key, self._sub, self._lit
        i = 0
        n = len(text)
        while i < n:
            ch = text[i]
            if state == STR:
                if ch == '"':
                    state = COLON if key else AFTER
                elif ch == "\\":
                    state = ESC
                elif ch < " ":
                    return i
                i += 1
                continue
            if state == ESC:
                if ch not in _ESCAPES:
                    return i
                state, sub = (HEX, 4) if ch == "u" else (STR, 0)
                i += 1
                continue
            if state == HEX:
                if ch not in _HEX:
                    return i
                sub -= 1
                if sub == 0:
                    state = STR
                i += 1
                continue
            if state == NUM:
                nxt = _number_step(sub, ch)
                if nxt is not None:
                    sub = nxt
                    i += 1
                    continue
                if sub not in _N_ACCEPT:
                    return i
                state = AFTER  # the number ended: judge ch again as what follows a value
                continue
            if state == LIT:
                if ch != lit[sub]:
                    return i
                sub += 1
                if sub == len(lit):
                    state = AFTER
                i += 1
                continue
            if ch in _WS:
                i += 1
                continue
            if state == ARRAY:
                if ch == "]":
                    stack.pop()
                    state = AFTER
                    i += 1
                    continue
                state = VALUE  # judge ch as the array's first value
            if state in (VALUE, KEY_OR_END) and not (state == KEY_OR_END and ch != "}" and ch != '"'):
                if state == KEY_OR_END:  # '}' or '"' here
                    if ch == "}":
                        stack.pop()
                        state = AFTER
                    else:
                        state, key = STR, True
                elif ch == "{":
                    stack.append("{")
                    state = KEY_OR_END
                elif ch == "[":
                    stack.append("[")
                    state = ARRAY  # an empty array closes at once: "]" may come next
                elif ch == '"':
                    state, key = STR, False
                elif ch == "-" or ch in _DIGITS:
                    state = NUM
                    sub = N_MINUS if ch == "-" else (N_ZERO if ch == "0" else N_INT)
                elif ch in _LITERALS:
                    state, lit, sub = LIT, _LITERALS[ch], 1
                else:
                    return i
                i += 1
                continue
            if state == KEY_OR_END:
                return i
            if state == KEY:
                if ch != '"':
                    return i
                state, key = STR, True
            elif state == COLON:
                if ch != ":":
                    return i
                state = VALUE
            elif state == AFTER:
                if not stack:
                    return i  # something after a complete top-level value
                top = stack[-1]
                if ch == ",":
                    state = KEY if top == "{" else VALUE
                elif (ch == "}" and top == "{") or (ch == "]" and top == "["):
                    stack.pop()
                else:
                    return i
            i += 1
        self._state, self._key, self._sub, self._lit = state, key, sub, lit
        return None

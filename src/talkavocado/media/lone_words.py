"""Words people say on their own, between pauses: what a short sound standing
apart may be instead of a filler.

SAID_ALONE: the words that make a sentence alone (answers, greetings, the
words that open one, numbers). LONE_WORDS adds common words and words that
sound like a filler ("firm", "arm", "some"): the second look picks the best
of these and the fillers, so a lone real word finds itself (or a word like
it) rather than the nearest filler; a recogniser also writes them for a
filler, so they alone never say a word was spoken. Left out on purpose: the
unstressed words a filler sounds like and that never make a sentence alone
("a", "the", "an", "to", "of", "and", "but", "them", "than", "that"); alone
between pauses they are hesitations."""

SAID_ALONE = frozenset(
    """
    yes yeah yep nope no not okay ok oh hi hey hello bye goodbye thanks please sorry sure
    right wrong great fine nice cool wow huh ha aha ouch oops alright indeed exactly really
    true false maybe never always again here there where why what when how which whose
    well so now then just also too very still yet even only first last next
    one two three four five six seven eight nine ten hundred thousand once twice second third
    """.split()  # noqa: SIM905 - a word list reads better as text
)

LONE_WORDS = SAID_ALONE | frozenset(
    """
    each every more most less much many same own other new old good bad big small long short
    i me my mine we us our you your he his she her it its they their this these those
    be is are was were been do did done go went gone get got make made say said see saw
    know knew think thought come came take took give gave look want need like love feel
    work run turn learn earn burn hear near fear
    floor store pure cure firm term germ farm harm arm warm worm form storm born
    corn horn torn sir mister madam mom mum man men woman women child world life hand part
    place case week day year time home water room money story book job word business side
    kind head house friend hour game line end name team minute idea kid body school face
    door war law car city night morning moment up down out off on in over under around
    am some sum come numb drum gum
    """.split()  # noqa: SIM905 - a word list reads better as text
)

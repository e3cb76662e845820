"""The AN4 test transcripts as SHA-1 digests, so generated texts can exclude them without the data.

AN4's test set (130 utterances, 123 distinct texts, 10 speakers) is the benchmark a model trained
on synthetic ``an4`` texts is scored on. Training on those very sentences would leak the test set,
so :func:`echo_edu.data.an4_templates.an4_text` rejects every text whose digest is listed here.
Only digests are committed (the transcripts belong to CMU's corpus, which stays out of the
repository); each is ``sha1(normalize_text(transcript))``. :func:`verify_test_exclusion` recomputes
them from the real ``etc/an4_test.transcription`` when it is on this machine.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from ..errors import ConfigError
from .locate import find_data_root
from ..text import normalize_text

__all__ = ["AN4_TEST_SHA1", "text_sha1", "transcript_texts", "transcription_sha1", "find_an4_test_file",
           "verify_test_exclusion"]

#: sha1(normalize_text(t)) of each distinct AN4 test transcript t.
AN4_TEST_SHA1 = frozenset((
    "05c34e7a8df7c8ea2a3fade428d99aa92ff00162", "064cbf7f480f92e561d685fe07135b2d2ff867d6",
    "073199b7165f3554d03cc0855b64d92af4972a1a", "0b06ef69e7203a838b3150d8683da2e3791941be",
    "0b33a1e907a79735b37c2e778f93e9deb3e32944", "0bc332ee61236f5bf1dd7be0dd42e5b924bc3394",
    "0f5e6cdc8ad21ff4711363fd7ea21d9dac119177", "0f6e90aaafe0b6196c7687801383e797dee2efe2",
    "0fe62c9e58fc7e9e4a481f6f8ad7fd8ac92880ce", "1000f429bac59060bf8228160c7601e1634a1cb4",
    "1104ff09cc1645c64494b805c74482624caeba4f", "1255f9b51f83a5534383acaf0c192d5b7c33dc3d",
    "13481b44ad521ed78b4725b352c8b5e7dc155e4e", "1555619409b0fe7ff3056917ca53d514f4ec1da1",
    "15cd8326a5ee48bc7cf3926fe72ac4ce8de0d09f", "1b2d1ef10ee3bbcfa45a7494594ad2b03d97543e",
    "1b480158e1f30e0b6cee7813e9ecf094bd6b3745", "1d2b36d6f11a0607a5ae68da463b997fcd93bc1d",
    "1e88ea35a2b03b695e364d4b12a63bc1897b5176", "1ec558a60b5dda24597816c924776716018caf8b",
    "29bdb1e6bc411b9d9dc9d799a301c908d583b1f8", "29c5abad51bd593dda485b17bd3a9bf27188af98",
    "2c09262a408b1af20f17d8d79cc566611f1af9ca", "2cc242d48f36bb9c2eeb0b49bfc8274c663baf72",
    "363f3ee44d1bec4c3ccf0e20b5e3a6169e9a2315", "36f0c259d5fe42495ad56fc861770f6c7e99c52a",
    "36f951f77d1051feb710ba4e227e43c4900d4298", "38f62a03cb4f5ca414a2e7b32654a60799676903",
    "3aa60b57941ff8cd1e0ce531b77cbfcc0cba3104", "42faf588162c59f9df4dbfa1b67c9d0e7632abe2",
    "4424345ffe582896cc4fda055434678a1170af0b", "48924e068c42e59ef5f73ef72ae18a0fed5b0ca2",
    "4cd6ebf1fd33fe22f30af20fc6fdb4f1b575400e", "4d877e62658e01a72cf3c38c4dea55bc9cebf064",
    "54807a95b99e3a1eedd7e65873bdb89da78aec7b", "59dc579763c74c4f49aac9cc0ff2320b9f870d0f",
    "623de8984ac65781b7c3b9ca38c56d3a36303298", "6373bad515c40188dc60af04e6e27011d0fb2c8f",
    "63a288317a73c483c0a7dac024c241882c7162ea", "6b80711bb8ab64049e438af273af263f19fab458",
    "7161ae77ed55265e10edd16a33444c5300589d4d", "7188087b72a475743c3088ff3561c65c9213622d",
    "71cc09f097acfcec20f485fd08e74ec914c03554", "7407a311f61dee25ca3ed3c96520b4f5d801bc6b",
    "784e7da80718a17c7268286009d1b5160d271ab8", "78904f30bd2d9524e850508f50996625cff2b338",
    "7a0e3f79b2f2d252061dba6c4fd13a2ef58e19c5", "7b8cf156de1e5ee29423341c660827d2b9309357",
    "7bb8107234fd85220315230aaaf47d1efbbbbec2", "835edeade2028cf3b3f7ddc685d8bcefd923b561",
    "84a92da91638b6ffef44822f74d478b752e8a343", "885c39aca07c0a1e8339e78a3c587238a7785a62",
    "8aafdee57068b39bb2eaeafc91226ef15823d6d1", "8d24cc7e59c986efdb550b708c5dc205a8685fb5",
    "8e7af93960c8a7ed5a79484cedc5432dc08fb16f", "903ee81c28bfe3a05ab2abc85f4f6f27c17c57ba",
    "939318ffbc48f99ab9ec2e0a92c1adc9d18a90fe", "93f0912b37b8cc77ecb11b0d854bb58eb684a45d",
    "944778b9504b02b2ac9cbd87feb910da7995a057", "945935f53fd67d5f3c0ce28fcb08972e2ee81468",
    "9718708ee37c973afb96a26f3c1b3106caf5040b", "9b488a6203b9433135d5b10eda6bcacb74eb9d32",
    "9ba6da9bc40d2172765f425c30613f27e216f1da", "9f0489576b7fa41ff68053fda75a0fcdf66c0f88",
    "9fd249c2905f0f9d7a2c5e014d4b86609ae73138", "a3b71208a49014d9f4b75b94185a9f910b2161e9",
    "a48ab804739169d31e77c927de15479e6ee19748", "a9139206a3f11b70723f04854660b430739017fd",
    "aa04f375485360cb0261ff0f68185aaa4430f83d", "ad4bd1390b73a7a877e0881726c782308473c4ad",
    "ad4e24a091e3fb2f7fc547cca6f8ddfff96d8e2e", "b197fa8e9736ebf92942f83ae855362e03487f6f",
    "b49a8c5a172d4fbea8f597a4a2c8c2bfceb0b13c", "b96a6cce8de35bbb4d9cc863110a76d5561e9160",
    "bf2c6d6014a02d18d21288a00498f013210af140", "c0ac4842418e34583859262c033965cfd49454e0",
    "c145b86c4f759511f1cdd7996bdfbee41c252c92", "c2c043315ad56f1fa9790b2ce3df2d30a98c91c1",
    "c6ce0a24154edf21331a35f8f318d1273b8099f3", "c756f83dbdbb3c64d80b7c869786e6877cdde3a3",
    "c8e211b78be5b3fc5514eabfbcdf000d17b7e73d", "cb6fce079c341e07ca93b0ec8993557397c9e1d2",
    "cd7bfa1361b5b7d7a7502ebaa3535ce56d7e524b", "cf15c29c5bfd2f41540c2728729a82c5b14c4306",
    "cfe0681bf5847a68d7e8f7e401da6dd0f30cfcd1", "d0cdfdf798022760100f4aa836a3cb7c6881a1cf",
    "d1c3f4ee2ee53a262d98f07a43644ca44ff4fcea", "d1d209a2b23077d6e1049c338269627270363924",
    "d7497524608406dcea4a87f68918516d760454c6", "d7a660c551dd915c122aa61f43979d37adaf069d",
    "d8269b2b7c44e5d096ebf18226ae43bfdb777f53", "d9fea01dad008e71565255e9befd05cc6c4bc9dd",
    "e1babcda87ccfbcf71bebd1ebbf5e349509021d7", "e23f3468fabd73687bf49c6d9b470a4880dad48a",
    "e2449fcde962425cd467100ffb84ba07ea8d0d64", "e314149d8006819b592f2979f39cf2fbf4f6052f",
    "e3d8b490edfd8df218f26ee83176d8ade4de0837", "e430016448d2510b00eaf7aa06c846fd965c3062",
    "e4469c16a30a18d9085f761d9e33f06e3f3383b3", "e4bb387eb40a24ad612faad9090109a2c8bfac7b",
    "e5496ded7bf5227ba162385813457a8f1fdf5bce", "e8cbba75b980bf57e1ddb4ac83460571d996410d",
    "e8e7c9ba075f4c23d40eb91c188074cc821b2175", "e903b4be5a15032755dda0c3239ad3419ba3a54c",
    "e9061960f3158f37c35b6f0cc2bd4f0ea9efe27a", "e9281223bea79feccaa2ea91934b015b2861c2a7",
    "e9f9a89a82621fbfff4fb5901b1606519803d3fc", "ec1f0d997113bd93c9e65f9794e4d6eb009f3209",
    "ed14902d6e24bbed0956ac18769a70ae3c16c4a3", "f1caa97aea1e9d2e211e906fb497b41ef73b399f",
    "f2d1c86e261479c49a06b94e1c0b8fb27a360023", "f36c72391e28853c32427fc23660c7d54e3af97f",
    "f3ff0ba8784c27708c8b6201c75b79ee4cfae25e", "f470714fbb92a1fc4b02519c5c8e7c28e98a77f6",
    "f54dca0ff05967c7f3197eb9adeb76aae0c71b60", "f6d8a0877c274d3ff4bc626dc34382ce68640a0b",
    "f79e701a4948cde5c6901e18f1fa05005b9a1619", "fab83523ac88d12e12c0a261389f4ac5b0cb6a3f",
    "fb360f9c09ac8c5edb2f18be5de4e80ea4c430d0", "fcd96e280cc6773eaed204b964458a3e2cbccdf8",
    "fd1286353570c5703799ba76999323b7c7447b06", "fd52dd9a697e4f790d67e5560720217070b2e42d",
    "fea1a1ae1f24b4046286ab6fbc0b526002a5bd2b",
))

def text_sha1(text: str) -> str:
    """SHA-1 hex digest of a normalised text (how AN4 test transcripts are stored and compared)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


_UTTERANCE_ID = re.compile(r"\s*\([^()]*\)\s*$")


def transcript_texts(path: str | os.PathLike) -> list[str]:
    """The normalised texts of a Sphinx ``.transcription`` file, in file order.

    Lines are ``<s> WORDS </s> (id)`` (AN4 train) or ``WORDS (id)`` (AN4 test); the id and the
    sentence markers are dropped and the words normalised (``P I T T S`` -> ``p i t t s``).
    """

    texts = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        words = _UTTERANCE_ID.sub("", line).replace("<s>", " ").replace("</s>", " ")
        if words.strip():
            texts.append(normalize_text(words))
    return texts


def transcription_sha1(path: str | os.PathLike) -> frozenset[str]:
    """The digests of the distinct normalised texts in ``path``."""
    return frozenset(text_sha1(t) for t in transcript_texts(path))


def find_an4_test_file() -> Path | None:
    """``an4/etc/an4_test.transcription`` in the data folder :func:`~echo_edu.data.locate.find_data_root`
    finds (``$ECHO_EDU_DATA`` or ``../shared/data`` beside the checkout), or ``None`` without one."""
    root = find_data_root("an4")
    path = root / "an4" / "etc" / "an4_test.transcription" if root is not None else None
    return path if path is not None and path.is_file() else None


def verify_test_exclusion(path: str | os.PathLike | None = None) -> bool:
    """Check the committed digests against the real AN4 test transcripts, when present.

    Returns ``True`` when the file was found and matches, ``False`` when there is no file to check.

    Raises:
        ConfigError: the file holds a transcript whose digest is not in :data:`AN4_TEST_SHA1` —
            generated texts could then contain it (the list must be regenerated).
    """
    path = Path(path) if path is not None else find_an4_test_file()
    if path is None:
        return False
    unknown = transcription_sha1(path) - AN4_TEST_SHA1
    if unknown:
        raise ConfigError(f"{path} holds {len(unknown)} test transcripts whose SHA-1 digests are not in "
                          "echo_edu/data/an4_test_hashes.py; regenerate AN4_TEST_SHA1 from it")
    return True

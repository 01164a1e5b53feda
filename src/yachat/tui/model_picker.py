"""The model picker (F4, or Pick… in the settings): the backend's models, the
models yachat knows, and a field for any name or gpt:// URI.

The backend's list is asked for when the picker opens and shows up when it
comes ("loading…" until then); the known models are there at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from yachat.core.errors import explain
from yachat.core.model_catalog import KNOWN_MODELS, ModelListing, Reasoning, listing
from yachat.model_ref import model_ref_problem
from yachat.text import one_line
from yachat.tui.dialogs import AnsweredOnce, guard_paging

ListModels = Callable[[], Awaitable[list[ModelListing]]]
LOADING = "loading the backend's models…"
REASONING_LABEL = {Reasoning.NONE: "", Reasoning.HIDDEN: "hidden reasoning", Reasoning.EFFORT: "reasoning"}


def known_names() -> list[str]:
    """The catalogue's models as an assistant names them (both YandexGPT Pro versions)."""
    names: list[str] = []
    for name in KNOWN_MODELS:
        names += [f"{name}/latest", f"{name}/rc"] if name == "yandexgpt" else [name]
    return names


def valid_model(text: str) -> str | None:
    """What is wrong with a typed model name, or None."""
    if not text.strip():
        return "type a model name, e.g. yandexgpt/rc, or pick one from the list"
    return model_ref_problem(text)


def row(model: ModelListing, name: str | None = None) -> Text:
    context = f"{model.context_tokens:,}" if model.context_tokens else "?"
    return Text.assemble(
        (f"{one_line(name or model.name, 30):<31}", "bold"),
        (f"{model.transport.value:<5}{context:>8} ctx  {REASONING_LABEL[model.reasoning]}", "dim"),
    )


class ModelPicker(AnsweredOnce[str | None]):
    AUTO_FOCUS = "#model-name"
    DEFAULT_CSS = """
    ModelPicker { align: center middle; }
    ModelPicker > Vertical {
        width: 84; max-width: 100%; height: 80%; border: thick $primary; background: $surface; padding: 1 2;
    }
    ModelPicker #models { height: 1fr; margin-top: 1; }
    ModelPicker #picker-error { color: $error; }
    ModelPicker #picker-note { color: $text-muted; }
    ModelPicker Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    ModelPicker Button { margin-left: 1; }
    """
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        # From the name field into the list (the list takes its own arrows).
        Binding("down", "to_list", "The list", show=False),
    ]

    def __init__(self, list_models: ListModels, current: str) -> None:
        super().__init__()
        self._list_models = list_models
        self.current = current
        self.backend_models: list[ModelListing] | None = None  # None: still loading
        self.load_error = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Model — pick one, or type any name or gpt:// URI and press Enter"))
            yield Input(
                self.current, placeholder="yandexgpt/rc, qwen3-235b-a22b-fp8, gpt://…", id="model-name"
            )
            yield Label("", id="picker-error")
            yield OptionList(id="models")
            yield Label(Text(LOADING), id="picker-note")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Use this model", id="use", variant="primary")

    def on_mount(self) -> None:
        option_list = self._list()
        if option_list is None:  # answered (Esc) before it was mounted
            return
        guard_paging(option_list)
        self._show()
        # On the app, not this screen: a quick Esc must not cancel a connect half way.
        self.app.run_worker(self._load(), group="list-models", exit_on_error=False)

    async def _load(self) -> None:
        try:
            models = await self._list_models()
        except Exception as exc:
            models, self.load_error = [], explain(exc)
        self.backend_models = models
        if self.is_attached:
            self._show()

    def _show(self) -> None:
        """The lists, filtered by what is typed (unless it is the model being edited)."""
        option_list = self._list()
        if option_list is None:
            return
        typed = self.query_one("#model-name", Input).value.strip().lower()
        wanted = "" if typed == self.current.lower() else typed
        options: list[Option | None] = []
        backend = self.backend_models or []
        shown_names = set()
        matching = [m for m in backend if wanted in m.name.lower()]
        if matching:
            options.append(Option(Text("The backend's models", style="bold underline"), disabled=True))
            for model in matching:
                options.append(Option(row(model), id=model.name))
                shown_names.add(model.name)
        known = [n for n in known_names() if wanted in n.lower() and n not in shown_names]
        if known:
            options.append(Option(Text("Models yachat knows", style="bold underline"), disabled=True))
            options += [Option(row(listing(name), name), id=name) for name in known]
        option_list.clear_options()
        option_list.add_options(options)
        note = self.query_one("#picker-note", Label)
        if self.backend_models is None:
            note.update(Text(LOADING))
        elif self.load_error:
            note.update(Text(f"The backend's models could not be listed: {self.load_error}"))
        else:
            count = len(backend)
            note.update(Text(f"The backend offers {count} model{'s' if count != 1 else ''}."))

    @on(Input.Changed, "#model-name")
    def _typed(self) -> None:
        self.query_one("#picker-error", Label).update("")
        self._show()

    def _list(self) -> OptionList | None:
        """The list, or None once the picker is answered and its children are gone (keys
        and the backend's models can still come then)."""
        found = self.query(OptionList)
        return found.first() if found else None

    def action_to_list(self) -> None:
        option_list = self._list()
        if option_list is None:
            return
        option_list.focus()
        if option_list.highlighted is None:
            option_list.action_first()

    @on(Input.Submitted, "#model-name")
    def _submitted(self, event: Input.Submitted) -> None:
        """A name typed whole, or a part of one that only one listed model has."""
        text = event.value.strip()
        option_list = self._list()
        ids = [o.id for o in option_list.options if o.id] if option_list else []
        if text and text not in ids and len(ids) == 1 and text.lower() != self.current.lower():
            text = ids[0]
        self._use(text)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(event.option.id)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "use":
            self._use(self.query_one("#model-name", Input).value)
        else:
            self.dismiss(None)

    def _use(self, text: str) -> None:
        text = text.strip()
        problem = valid_model(text)
        if problem:
            self.query_one("#picker-error", Label).update(Text(problem))
            return
        self.dismiss(text)

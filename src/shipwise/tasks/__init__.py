"""Tasks: chat-format examples in splits, knowledge documents, the output spec, fingerprints."""

from shipwise.tasks.example import Example, Message, Messages
from shipwise.tasks.task import OutputSpec, Task, TaskSpec, load_task

__all__ = ["Example", "Message", "Messages", "OutputSpec", "Task", "TaskSpec", "load_task"]

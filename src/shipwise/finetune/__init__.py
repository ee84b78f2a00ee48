"""Fine-tuning backends: local LoRA, and hosted jobs over the OpenAI fine-tuning protocol."""
